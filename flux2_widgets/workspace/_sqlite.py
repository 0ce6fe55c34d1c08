"""The default backend: one SQLite file (``workspace.db`` in the results folder) that every
kernel and process on the machine shares.

As IPython's history database and Optuna's ``RDBStorage`` do: WAL (readers never wait
for a writer), a busy timeout and retries when the file is locked, short transactions,
``BEGIN IMMEDIATE`` for every write (a writer takes the lock before it reads, so two
processes cannot both read "room left" and both spend it). A damaged file (not a
database, truncated, "malformed") is moved aside, never deleted: a fresh one is made,
what rows of the old one can still be read are carried over, and the results index is
rebuilt from the sidecars. The replacement is built beside the damaged file and swapped
in with one rename, so a process killed while it rebuilds leaves the damaged file where it
was (the next one starts again), never a half-filled new one. A file deleted or moved
aside by another process is noticed before the next transaction (its inode changed) and
reopened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import WorkspaceError
from ._backend import Backend, Row, Tx, retrying

__all__ = ["SQLiteBackend"]

T = TypeVar("T")
log = logging.getLogger("flux2_widgets")

#: How long one statement waits inside SQLite for another process's lock. Short: SQLite's
#: own wait sleeps 25-100 ms at a time after a few tries (a vote's p95 went from 56 ms to
#: a few when 30 voters wrote at once); the retries below look again every 0.5-5 ms.
BUSY_TIMEOUT_S = 0.002
#: How long a transaction is retried while the database stays locked.
LOCKED_DEADLINE_S = 30.0
#: Idle connections kept per backend (a notebook's few threads).
POOL_SIZE = 4
_MAGIC = b"SQLite format 3\x00"
#: Connections inherited through fork(): never used, never closed (closing one in the
#: child could disturb the parent's locks), only kept from the garbage collector.
_inherited: list[sqlite3.Connection] = []


def _is_locked(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    # "database is locked" (SQLITE_BUSY: another connection's transaction) passes; "database
    # table is locked" (SQLITE_LOCKED, within one connection) never would
    text = str(exc).lower()
    return "database is locked" in text or "busy" in text


def _is_damage(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text)


def damaged(path: Path) -> str | None:
    """Why the file at ``path`` cannot be a healthy database (``None`` when it may be): a
    wrong header, or shorter than the pages its header counts. No SQL, no lock."""
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if not head:
        return None  # an empty file is an empty database
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "not an SQLite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]
    if header_valid and pages and size < pages * page_size:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 32:
            # a checkpoint cut short by a kill: the WAL still holds those pages, and SQLite
            # reads them from there (a real fault surfaces as "malformed" on use)
            return None
        return f"truncated ({size} bytes, its header counts {pages} pages of {page_size})"
    return None


class _SQLiteTx(Tx):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, (tuple(r) for r in rows))


class SQLiteBackend(Backend):
    """``SQLiteBackend(path, prepare)``: ``prepare(backend)`` creates or migrates the schema
    the first time the file is opened (and again after a damaged file was replaced);
    ``on_replaced()`` is told when the file was replaced by a new one. ``keep_damaged=False``
    (for an index that is only ever derived from other files) deletes a damaged file
    instead of moving it aside and carrying its rows over."""

    dialect = "sqlite"

    def __init__(self, path: Path, prepare: Callable[[Backend], None],
                 on_replaced: Callable[[], None] | None = None, *, keep_damaged: bool = True) -> None:
        self.path = Path(path)
        self.keep_damaged = keep_damaged
        self._prepare = prepare
        self._on_replaced = on_replaced
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        #: (device, inode) of the file our connections have open; None until prepared.
        self._file: tuple[int, int] | None = None
        self._preparing = threading.RLock()
        #: The thread running ``prepare`` (its own transactions skip the readiness check).
        self._preparer: int | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    # -- connections ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL: a commit survives the process being killed (the case here);
            # only a power cut may lose the last commits, and never corrupts the file.
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _take(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE and os.getpid() == self._pid:
                self._idle.append(conn)
                return
        conn.close()

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def _ensure_ready(self) -> None:
        if os.getpid() != self._pid:
            with self._lock:
                _inherited.extend(self._idle)
                self._idle, self._pid, self._file = [], os.getpid(), None
                self._lock = threading.Lock()
                self._preparing = threading.RLock()
        if self._preparer == threading.get_ident():
            return  # prepare's own transactions
        if self._file is not None and self._file == self._identity():
            return
        with self._preparing:
            if self._file is not None and self._file == self._identity():
                return
            replaced = self._file is not None
            self._drop_idle()
            with self._folder_lock():
                rebuilt = self._replace_if_damaged()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._preparer = threading.get_ident()
                try:
                    self._prepare(self)
                finally:
                    self._preparer = None
                self._file = self._identity()
            if (replaced or rebuilt) and self._on_replaced is not None:
                self._on_replaced()

    @contextlib.contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Only one process at a time decides whether the file is damaged and replaces it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process guard
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _replace_if_damaged(self, reason: str | None = None) -> bool:
        """Replace a damaged file (the caller holds the folder lock): the new one, with its
        schema and the old one's readable rows, is built under another name; the damaged
        file and its WAL are kept under a ``.damaged-`` name (hard links: never deleted);
        then one rename puts the new file in place. Killed before that rename, the damaged
        file is still where it was and the next process starts again."""
        for stale in self.path.parent.glob(f"{self.path.name}.rebuilding-*"):
            stale.unlink(missing_ok=True)  # left by a process killed while rebuilding
        reason = reason or damaged(self.path)
        if reason is None:
            return False
        if not self.keep_damaged:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            log.info("the index %s was damaged (%s): rebuilt", self.path, reason)
            return True
        fresh = self.path.with_name(f"{self.path.name}.rebuilding-{os.getpid()}")
        builder = _Builder(fresh, self._prepare)
        try:
            builder.write(lambda tx: None)  # prepares the schema
            kept = builder.carry_over(self.path)
        finally:
            builder.close()  # the last connection: its WAL is checkpointed into the file
        for suffix in ("-wal", "-shm"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{os.getpid()}")
        for n in range(2, 1000):
            if not aside.exists():
                break
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{os.getpid()}-{n}")
        for suffix in ("", "-wal"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                _keep(source, Path(f"{aside}{suffix}"))
        # the old WAL must not meet the new file: SQLite would replay it into it
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        os.replace(fresh, self.path)
        log.warning("the workspace database %s was damaged (%s): kept as %s; a new one is made, %d "
                    "readable rows carried over and the results index rebuilt from the sidecars",
                    self.path, reason, aside.name, kept)
        return True

    def carry_over(self, old_path: Path) -> int:
        """Copy whatever rows of the database at ``old_path`` can still be read. The folders'
        "indexed" marks are not: the results index is rebuilt from the sidecars."""
        try:
            old = sqlite3.connect(f"file:{old_path}?mode=ro", uri=True, isolation_level=None)
        except sqlite3.Error:
            return 0
        kept = 0
        try:
            conn = self._take()
            try:
                tables = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
                for table in tables:
                    if table in ("schema_version", "folders"):
                        continue
                    kept += _copy_table(old, conn, table)
            finally:
                self._give(conn)
        finally:
            old.close()
        return kept

    # -- transactions --------------------------------------------------------------
    def _run(self, fn: Callable[[Tx], T], begin: str) -> T:
        def attempt() -> T:
            self._ensure_ready()
            conn = self._take()
            try:
                conn.execute(begin)
                try:
                    result = fn(_SQLiteTx(conn))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except BaseException:
                conn.close()  # whatever state it is in, it is not reused
                raise
            self._give(conn)
            return result

        def give_up(exc: BaseException, waited: float) -> BaseException:
            return WorkspaceError(f"the workspace database {self.path} stayed locked for {waited:.0f} s "
                                  "(another process holding a long transaction?); try again",
                                  code="locked")

        for recovering in (False, True):
            try:
                return retrying(attempt, transient=_is_locked, deadline_s=LOCKED_DEADLINE_S,
                                on_give_up=give_up, first_pause=0.0005, max_pause=0.005)
            except sqlite3.DatabaseError as exc:
                if _is_damage(exc) and not recovering:
                    self._recover(str(exc))
                    continue
                if not _writable(self.path):
                    raise WorkspaceError(
                        f"the workspace database {self.path} cannot be written: {self.path.parent} is "
                        "read-only for this user, and even reading it (History, resume) keeps its index "
                        "there. Make the folder writable, or copy it somewhere that is",
                        code="read_only") from exc
                raise WorkspaceError(f"the workspace database {self.path} failed: {exc}",
                                     code="database") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover(self, reason: str) -> None:
        with self._preparing:
            self._drop_idle()
            with self._folder_lock():
                # Another process may have replaced it already: only the file we found bad moves.
                if self._file is not None and self._identity() == self._file:
                    rebuilt = self._replace_if_damaged(reason)
                else:
                    rebuilt = False
                self._file = None
            self._ensure_ready()
            if rebuilt and self._on_replaced is not None:
                self._on_replaced()

    def read(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn, "BEGIN")

    def write(self, fn: Callable[[Tx], T]) -> T:
        return self._run(fn, "BEGIN IMMEDIATE")

    def close(self) -> None:
        self._drop_idle()


def _writable(path: Path) -> bool:
    """Whether this user may write the database (and its WAL and lock files) at ``path``."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


class _Builder(SQLiteBackend):
    """The replacement being built: its maker already holds the folder's lock."""

    @contextlib.contextmanager
    def _folder_lock(self) -> Iterator[None]:
        yield


def _keep(source: Path, target: Path) -> None:
    """``target`` names the same bytes as ``source`` (a hard link; a copy where links fail)."""
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copy2(source, target)


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> int:
    try:
        new_cols = [r[1] for r in new.execute(f'PRAGMA table_info("{table}")')]
        old_cols = [r[1] for r in old.execute(f'PRAGMA table_info("{table}")')]
        cols = [c for c in new_cols if c in old_cols]
        if not cols:
            return 0
        names = ", ".join(f'"{c}"' for c in cols)
        cursor = old.execute(f'SELECT {names} FROM "{table}"')
    except sqlite3.Error:
        return 0
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})'
    kept = 0
    new.execute("BEGIN IMMEDIATE")
    try:
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.Error:
                break  # the damage starts here: keep what came before it
            if row is None:
                break
            kept += new.execute(insert, row).rowcount
        new.execute("COMMIT")
    except BaseException:
        if new.in_transaction:
            new.execute("ROLLBACK")
        return 0
    return kept
