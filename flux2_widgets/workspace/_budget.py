"""The budget ledger: caps per scope, and money reserved before a call and settled after.

A *scope* is a string: ``"workspace"`` for the folder (its key) as a whole,
``"visitor:<id>"`` for one visitor's quota, anything else a caller wants. A scope's cap
is a total and/or a per-day amount (per UTC day: the day a reservation was made).

``reserve(key, amount, scopes)`` checks every scope's caps and records the reservation in
one transaction, so processes racing for the last dollar cannot both get it: on SQLite
the transaction holds the database's write lock from its start (``BEGIN IMMEDIATE``); on
PostgreSQL it locks the capped scopes' rows (``SELECT ... FOR UPDATE``, in scope order so
two reservations never deadlock). Row locks rather than an advisory lock: the lock is the
cap itself, so reservations on different scopes never wait for each other, a cap being
changed waits for the reservations checking it, and nothing has to hash scope names into
lock numbers. A reserved amount counts as "may still be billed" until ``settle`` (the
service said what it cost: billed) or ``release`` (not charged). Keys make it idempotent:
reserving or settling the same key twice counts once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from ..errors import BudgetExceededError, ValidationError, WorkspaceError
from ..money import format_usd
from ._backend import Backend, Tx
from ._records import BudgetStatus, Reservation

__all__ = ["Budget", "WORKSPACE_SCOPE", "simulated_scopes", "visitor_scope"]

#: The scope of the folder (and its key) as a whole.
WORKSPACE_SCOPE = "workspace"
MICRO = 1_000_000


def visitor_scope(visitor_id: str) -> str:
    """The scope of one visitor's quota: ``"visitor:<id>"``."""
    return f"visitor:{visitor_id}"


def simulated_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """Where a simulated create's "would have cost" is kept: ``simulated:<scope>``, beside the
    real scopes, so a demo on the simulator never spends a folder's real cap (and an arena's
    money still reads by key)."""
    return tuple(f"simulated:{s}" for s in scopes)


#: The largest amount a cap, reservation or cost may name (micro-dollars fit a 64-bit integer
#: with room for sums of many).
MAX_USD = 1_000_000_000


def _micro(amount: Any, name: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount) \
            or not 0 <= amount <= MAX_USD:
        raise ValidationError(f"{name} must be an amount of US dollars from 0 to {MAX_USD:,}, not "
                              f"{amount!r}", field=name, value=amount, allowed=f"0 to {MAX_USD}")
    return round(amount * MICRO)


def _usd(micro: int | None) -> float | None:
    return None if micro is None else round(int(micro) / MICRO, 6)


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 512:
        raise ValidationError(f"a reservation key is a string of 1-512 characters (the create's "
                              f"Idempotency-Key, say), not {key!r}", field="key", value=key,
                              allowed="1-512 characters")
    return key


def _scopes(scopes: Any) -> list[str]:
    if isinstance(scopes, str):
        scopes = (scopes,)
    out = list(dict.fromkeys(scopes)) if isinstance(scopes, (list, tuple)) else None
    if not out or any(not isinstance(s, str) or not s or len(s) > 200 for s in out):
        raise ValidationError(f"scopes must be one or more non-empty strings (e.g. 'workspace', "
                              f"'visitor:<id>'), not {scopes!r}", field="scopes", value=scopes,
                              allowed="strings of 1-200 characters")
    return sorted(out)


def _one_scope(scope: Any) -> str:
    if not isinstance(scope, str):
        raise ValidationError(f"scope must be one scope name (e.g. 'workspace', 'visitor:<id>'), not "
                              f"{scope!r}"[:200], field="scope", value=repr(scope)[:80],
                              allowed="a string of 1-200 characters")
    return _scopes(scope)[0]


_SUMS = ("SELECT COALESCE(SUM(CASE WHEN state = 'settled' THEN cost_micro ELSE 0 END), 0), "
         "COALESCE(SUM(CASE WHEN state = 'reserved' THEN amount_micro ELSE 0 END), 0), "
         "COALESCE(SUM(CASE WHEN state = 'settled' AND day = ? THEN cost_micro ELSE 0 END), 0), "
         "COALESCE(SUM(CASE WHEN state = 'reserved' AND day = ? THEN amount_micro ELSE 0 END), 0) "
         "FROM budget_entries WHERE scope = ?")
_ENTRY = "SELECT scope, amount_micro, cost_micro, state, day, reserved_at, closed_at FROM budget_entries"


def _reservation(key: str, rows: list[tuple[Any, ...]]) -> Reservation | None:
    if not rows:
        return None
    first = rows[0]
    return Reservation(key=key, amount=_usd(first[1]) or 0.0, scopes=tuple(sorted(r[0] for r in rows)),
                       state=str(first[3]), cost=_usd(first[2]), day=str(first[4]),
                       reserved_at=float(first[5]), closed_at=None if first[6] is None else float(first[6]))


class Budget:
    """``Workspace.budget``. ``clock`` (epoch seconds) decides the UTC day."""

    def __init__(self, backend: Backend, clock: Callable[[], float] = time.time) -> None:
        self._db = backend
        self.clock = clock

    def _day(self, at: float | None = None) -> str:
        return datetime.fromtimestamp(self.clock() if at is None else at, timezone.utc).strftime("%Y-%m-%d")

    # -- caps ----------------------------------------------------------------------
    def set_cap(self, scope: str = WORKSPACE_SCOPE, *, total: float | None = None,
                per_day: float | None = None) -> BudgetStatus:
        """Set a scope's caps in USD (``None``: no such cap; both ``None`` removes the cap).
        Lowering a cap below what is committed refuses new reservations; nothing is undone."""
        scope = _one_scope(scope)
        caps = (None if total is None else _micro(total, "total"),
                None if per_day is None else _micro(per_day, "per_day"))

        def write(tx: Tx) -> None:
            if caps == (None, None):
                tx.execute("DELETE FROM budget_caps WHERE scope = ?", (scope,))
                return
            tx.execute("INSERT INTO budget_caps (scope, total_micro, per_day_micro, updated_at) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET total_micro = "
                       "excluded.total_micro, per_day_micro = excluded.per_day_micro, "
                       "updated_at = excluded.updated_at", (scope, *caps, time.time()))

        self._db.write(write)
        return self.status(scope)

    # -- reservations --------------------------------------------------------------
    def reserve(self, key: str, amount: float, scopes: Sequence[str] | str = (WORKSPACE_SCOPE,),
                ) -> Reservation:
        """Hold ``amount`` USD on every scope for the call ``key``, or raise
        :class:`~flux2_widgets.errors.BudgetExceededError` (naming the scope, the cap, what
        is spent and reserved, and what is left) and record nothing. Reserving a key again
        returns the first reservation unchanged, unless it was released (the service refused
        that create): then it is checked against the caps again and held anew."""
        key, micro, names = _key(key), _micro(amount, "amount"), _scopes(scopes)
        now = self.clock()
        day = self._day(now)

        def write(tx: Tx) -> Reservation:
            marks = ", ".join("?" * len(names))
            caps = tx.all("SELECT scope, total_micro, per_day_micro FROM budget_caps "
                          f"WHERE scope IN ({marks}) ORDER BY scope{tx.for_update}", names)
            # after the locks: a racing reservation of the same key has committed by now
            existing = _reservation(key, tx.all(f"{_ENTRY} WHERE key = ?", (key,)))
            if existing is not None and existing.state != "released":
                return existing
            for scope, total, per_day in caps:
                spent, reserved, spent_today, reserved_today = (int(v) for v in tx.one(
                    _SUMS, (day, day, scope)) or (0, 0, 0, 0))
                for period, cap, used_spent, used_reserved in (
                        ("total", total, spent, reserved), ("day", per_day, spent_today, reserved_today)):
                    if cap is not None and used_spent + used_reserved + micro > int(cap):
                        _refuse(scope, period, int(cap), used_spent, used_reserved, micro, day)
            if existing is not None:  # released, and sent again: it counts again
                tx.execute("DELETE FROM budget_entries WHERE key = ? AND state = 'released'", (key,))
            tx.many("INSERT INTO budget_entries (key, scope, amount_micro, cost_micro, state, day, "
                    "reserved_at) VALUES (?, ?, ?, NULL, 'reserved', ?, ?) "
                    "ON CONFLICT (key, scope) DO NOTHING",
                    [(key, scope, micro, day, now) for scope in names])
            return Reservation(key, _usd(micro) or 0.0, tuple(names), "reserved", None, day, now, None)

        return self._db.write(write)

    def settle(self, key: str, cost: float, *, scopes: Sequence[str] | str | None = None) -> Reservation:
        """The service said what the call cost (billed): it replaces the reservation. A
        second settle of the key changes nothing. A key never reserved is recorded as
        settled on ``scopes`` (a task resumed from an earlier kernel, say), or refused
        without them."""
        key, micro = _key(key), _micro(cost, "cost")
        names = _scopes(scopes) if scopes is not None else None
        now = self.clock()

        def write(tx: Tx) -> Reservation:
            rows = tx.all(f"{_ENTRY} WHERE key = ? ORDER BY scope{tx.for_update}", (key,))
            if not rows:
                if names is None:
                    raise WorkspaceError(f"no reservation {key!r} to settle; pass scopes= to record a cost "
                                         "that was never reserved", code="not_found")
                day = self._day(now)
                tx.many("INSERT INTO budget_entries (key, scope, amount_micro, cost_micro, state, day, "
                        "reserved_at, closed_at) VALUES (?, ?, ?, ?, 'settled', ?, ?, ?) "
                        "ON CONFLICT (key, scope) DO NOTHING",
                        [(key, s, micro, micro, day, now, now) for s in names])
            else:
                tx.execute("UPDATE budget_entries SET state = 'settled', cost_micro = ?, closed_at = ? "
                           "WHERE key = ? AND state <> 'settled'", (micro, now, key))
            found = _reservation(key, tx.all(f"{_ENTRY} WHERE key = ?", (key,)))
            assert found is not None
            return found

        return self._db.write(write)

    def release(self, key: str) -> Reservation | None:
        """The call was not charged (it failed, or the service refused it): its reservation
        stops counting. A settled call stays billed. ``None`` for a key never reserved."""
        key = _key(key)
        now = self.clock()

        def write(tx: Tx) -> Reservation | None:
            tx.execute("UPDATE budget_entries SET state = 'released', closed_at = ? "
                       "WHERE key = ? AND state = 'reserved'", (now, key))
            return _reservation(key, tx.all(f"{_ENTRY} WHERE key = ?", (key,)))

        return self._db.write(write)

    def get(self, key: str) -> Reservation | None:
        return self._db.read(lambda tx: _reservation(key, tx.all(f"{_ENTRY} WHERE key = ?", (key,))))

    def get_many(self, keys: Sequence[str]) -> dict[str, Reservation]:
        """The reservations of ``keys`` that the ledger has, in one read (an arena's hundreds)."""
        wanted = list(dict.fromkeys(_key(k) for k in keys))

        def read(tx: Tx) -> dict[str, list[tuple[Any, ...]]]:
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for at in range(0, len(wanted), 500):  # under every driver's limit on parameters
                chunk = wanted[at:at + 500]
                marks = ", ".join("?" * len(chunk))
                for r in tx.all(f"{_ENTRY.replace('SELECT ', 'SELECT key, ', 1)} WHERE key IN ({marks})",
                                chunk):
                    rows.setdefault(str(r[0]), []).append(tuple(r[1:]))
            return rows

        found = self._db.read(read)
        return {k: r for k, rows in found.items() if (r := _reservation(k, rows)) is not None}

    def outstanding(self, scope: str = WORKSPACE_SCOPE) -> list[Reservation]:
        """Reservations of ``scope`` neither settled nor released (may still be billed), oldest first."""
        def read(tx: Tx) -> list[Reservation]:
            keys = [r[0] for r in tx.all("SELECT key FROM budget_entries WHERE scope = ? AND "
                                         "state = 'reserved' ORDER BY reserved_at, key", (scope,))]
            found = [_reservation(k, tx.all(f"{_ENTRY} WHERE key = ?", (k,))) for k in keys]
            return [r for r in found if r is not None]

        return self._db.read(read)

    def scopes(self) -> set[str]:
        """Every scope with a cap or a reservation in the ledger."""
        return {r[0] for r in self._db.read(lambda tx: tx.all(
            "SELECT scope FROM budget_caps UNION SELECT DISTINCT scope FROM budget_entries"))}

    def status(self, scope: str = WORKSPACE_SCOPE) -> BudgetStatus:
        """A scope's caps, spent (billed), reserved (may still be billed) and left, in all
        and for today (UTC)."""
        scope = _one_scope(scope)
        day = self._day()

        def read(tx: Tx) -> BudgetStatus:
            cap = tx.one("SELECT total_micro, per_day_micro FROM budget_caps WHERE scope = ?", (scope,))
            total, per_day = (cap if cap else (None, None))
            spent, reserved, spent_today, reserved_today = (int(v) for v in tx.one(
                _SUMS, (day, day, scope)) or (0, 0, 0, 0))
            left = None if total is None else max(0, int(total) - spent - reserved)
            left_today = None if per_day is None else max(0, int(per_day) - spent_today - reserved_today)
            return BudgetStatus(scope=scope, cap=_usd(total), per_day=_usd(per_day), spent=_usd(spent) or 0.0,
                                reserved=_usd(reserved) or 0.0, left=_usd(left), day=day,
                                spent_today=_usd(spent_today) or 0.0,
                                reserved_today=_usd(reserved_today) or 0.0, left_today=_usd(left_today))

        return self._db.read(read)


def _refuse(scope: str, period: str, cap: int, spent: int, reserved: int, amount: int, day: str) -> None:
    left = max(0, cap - spent - reserved)
    which = f"per-day cap (UTC {day})" if period == "day" else "cap"
    raise BudgetExceededError(
        f"reserving {format_usd(_usd(amount))} would pass the {which} of {format_usd(_usd(cap))} on "
        f"scope {scope!r}: {format_usd(_usd(spent))} spent, {format_usd(_usd(reserved))} reserved (may "
        f"still be billed), {format_usd(_usd(left))} left. Nothing was recorded.",
        scope=scope, period=period, cap=_usd(cap), spent=_usd(spent), reserved=_usd(reserved),
        left=_usd(left), code="budget_exceeded")
