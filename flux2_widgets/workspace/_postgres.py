"""The server backend: PostgreSQL through psycopg 3, for a workspace shared by machines
(a class voting from their own laptops, a team's common budget).

``pip install flux2-widgets[postgres]``. A small pool per process (a notebook needs a
handful of connections, not dozens: each costs the server a process), transactions in
READ COMMITTED, and the same retries as SQLite's for what a server does under load
(serialization failures, deadlocks, a connection lost). Row locks stand in for SQLite's
one write lock where it matters (``Tx.for_update``). Driver messages pass through the
URL's scrubber: its password never appears in an error.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..errors import WorkspaceError
from ._backend import Backend, Row, Tx, retrying
from ._url import DatabaseURL

__all__ = ["PostgresBackend"]

T = TypeVar("T")
log = logging.getLogger("flux2_widgets")

#: Connections one process keeps at most (threads beyond wait for one).
POOL_SIZE = 4
#: How long a transaction is retried through lock conflicts or a lost connection.
RETRY_DEADLINE_S = 30.0
CONNECT_TIMEOUT_S = 10


def _sql(sql: str) -> str:
    # one SQL text for both dialects: psycopg spells placeholders %s
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresTx(Tx):
    dialect = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(_sql(sql), tuple(params))
        return int(self._cur.rowcount)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(_sql(sql), tuple(params))
        return [tuple(r) for r in self._cur.fetchall()] if self._cur.description else []

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            self._cur.executemany(_sql(sql), batch)


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise WorkspaceError("a PostgreSQL workspace needs psycopg 3 and its pool: "
                             "pip install 'flux2-widgets[postgres]'", code="missing_driver") from exc
    return psycopg, psycopg_pool


class PostgresBackend(Backend):
    """``PostgresBackend(url, prepare)``; ``prepare(backend)`` creates or migrates the
    schema once per process, under an advisory lock (see ``_schema``)."""

    dialect = "postgresql"

    def __init__(self, url: DatabaseURL, prepare: Callable[[Backend], None], *,
                 pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._prepare = prepare
        self._pool_size = pool_size
        self._pool: Any = None
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._prepared = False
        self._preparer: int | None = None

    @property
    def location(self) -> str:
        return self.url.redacted

    def _error(self, exc: BaseException, what: str = "failed") -> WorkspaceError:
        return WorkspaceError(f"the workspace database {self.location} {what}: "
                              f"{self.url.scrub(str(exc)).strip()}", code="database")

    def _get_pool(self) -> Any:
        if self._pool is not None and self._pid == os.getpid():
            return self._pool
        psycopg, psycopg_pool = _driver()
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's pool is not ours
                self._pool, self._pid, self._prepared = None, os.getpid(), False
            if self._pool is None:
                # One plain connection first: a wrong password or a refused port fails at once
                # with the server's reason, where the pool would retry until its timeout.
                try:
                    psycopg.connect(self.url.conninfo, connect_timeout=CONNECT_TIMEOUT_S).close()
                except psycopg.Error as exc:
                    raise self._error(exc, "cannot be reached") from None
                pool = psycopg_pool.ConnectionPool(
                    self.url.conninfo, min_size=1, max_size=self._pool_size, open=False,
                    name="flux2-workspace", timeout=RETRY_DEADLINE_S,
                    kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "flux2_widgets"})
                try:
                    pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
                except Exception as exc:
                    pool.close()
                    raise self._error(exc, "cannot be reached") from None
                self._pool = pool
        return self._pool

    def _ensure_ready(self) -> None:
        if self._prepared and self._pid == os.getpid():
            return
        if self._preparer == threading.get_ident():
            return
        with self._lock:
            self._get_pool()
            if self._prepared:
                return
            self._preparer = threading.get_ident()
            try:
                self._prepare(self)
            finally:
                self._preparer = None
            self._prepared = True

    def _run(self, fn: Callable[[Tx], T], *, read_only: bool, autocommit: bool = False) -> T:
        psycopg, _ = _driver()
        transient_types = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                           psycopg.errors.LockNotAvailable, psycopg.OperationalError)

        def transient(exc: BaseException) -> bool:
            return isinstance(exc, transient_types)

        def attempt() -> T:
            self._ensure_ready()
            with self._get_pool().connection() as conn:
                if autocommit:  # one statement, its own transaction on the server
                    conn.autocommit = True
                    try:
                        with conn.cursor() as cur:
                            return fn(_PostgresTx(cur))
                    finally:
                        conn.autocommit = False
                conn.read_only = read_only
                with conn.transaction(), conn.cursor() as cur:
                    return fn(_PostgresTx(cur))

        def give_up(exc: BaseException, waited: float) -> BaseException:
            return self._error(exc, f"kept failing for {waited:.0f} s")

        try:
            return retrying(attempt, transient=transient, deadline_s=RETRY_DEADLINE_S, on_give_up=give_up)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg_pool"):  # PoolTimeout and the like
                raise self._error(exc) from None
            raise

    def read(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn, read_only=True)

    def write(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn, read_only=False)

    def statement(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._run(lambda tx: tx.all(sql, params), read_only=False, autocommit=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool, self._prepared = self._pool, None, False
        if pool is not None and self._pid == os.getpid():
            pool.close()
