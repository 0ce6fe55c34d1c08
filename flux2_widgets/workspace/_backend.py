"""The one small interface between the workspace and a database: run a function in a
read or a write transaction, retried when the database is busy.

Two implementations, :mod:`._sqlite` (the default, a file in the results folder) and
:mod:`._postgres` (a server, when users span machines). Everything above this line
(results, budgets, votes, arenas) is written once, in SQL both accept: ``?``
placeholders, ``INSERT ... ON CONFLICT``, ``RETURNING``. A transaction's function may run
more than once (a retry after a lock timeout or a lost connection), so it does database
work only, and every write in it is idempotent (keys chosen by the caller, ``ON
CONFLICT``).
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["Backend", "Tx", "retrying"]

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(abc.ABC):
    """One open transaction. SQL uses ``?`` placeholders in both dialects."""

    #: ``"sqlite"`` or ``"postgresql"``
    dialect: str
    #: ``" FOR UPDATE"`` where row locks exist (PostgreSQL); SQLite's write transactions
    #: hold the whole database already (``BEGIN IMMEDIATE``).
    for_update: str = ""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abc.abstractmethod
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query; every row."""

    @abc.abstractmethod
    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None


class Backend(abc.ABC):
    """A database the workspace can use from many threads and processes at once."""

    dialect: str

    @abc.abstractmethod
    def read(self, fn: Callable[[Tx], T]) -> T:
        """``fn(tx)`` in a transaction that sees one consistent state."""

    @abc.abstractmethod
    def write(self, fn: Callable[[Tx], T]) -> T:
        """``fn(tx)`` in a transaction that may write; committed when ``fn`` returns,
        rolled back (nothing recorded) when it raises."""

    def statement(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One statement committed on its own, its rows (``RETURNING``). On a server it is one
        round trip: the locks it takes are held for no client's reply (a busy arena's votes)."""
        return self.write(lambda tx: tx.all(sql, params))

    @abc.abstractmethod
    def close(self) -> None:
        """Give back every connection. The backend opens new ones if used again."""

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the database is, safe to show (no password)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"


def retrying(attempt: Callable[[], T], *, transient: Callable[[BaseException], bool],
             deadline_s: float, on_give_up: Callable[[BaseException, float], BaseException],
             first_pause: float = 0.002, max_pause: float = 0.2) -> T:
    """``attempt()`` again, after a short random pause growing to ``max_pause``, while it
    fails with an error ``transient`` accepts and ``deadline_s`` has not passed."""
    start = time.monotonic()
    pause = first_pause
    while True:
        try:
            return attempt()
        except BaseException as exc:
            waited = time.monotonic() - start
            if not transient(exc):
                raise
            if waited >= deadline_s:
                raise on_give_up(exc, waited) from exc
            # jittered: processes that collided once must not collide again in step
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 1.5, max_pause)
