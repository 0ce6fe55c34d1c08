"""One check for every number a caller passes in (options, timeouts, budgets, counts), and
one for every text a database keeps (names, voter ids, questions, notes).

Neutral ground: it imports nothing but the errors, so the catalog's neighbours (money,
the comparisons, the CLI, the client) all check numbers the same way without pulling in
httpx or each other.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError

__all__ = ["check_number", "check_storable", "check_text", "number_rule"]


def number_rule(*, minimum: float = 0.0, strict: bool = True, integer: bool = False,
                maximum: float | None = None) -> str:
    """What ``check_number`` allows, worded for people: ``"> 0"``, ``">= 0"``,
    ``"from 1 to 64"`` (a whole number in a closed range), ``"> 0 and <= 60"``."""
    if integer and not strict and maximum is not None:
        return f"from {_bound(minimum)} to {_bound(maximum)}"
    low = f"> {_bound(minimum)}" if strict else f">= {_bound(minimum)}"
    return low if maximum is None else f"{low} and <= {_bound(maximum)}"


def _bound(value: float) -> str:
    """A bound for people: a whole number in full (``1,000,000``), any other briefly (``0.5``)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,g}"


def check_number(name: str, value: Any, *, minimum: float = 0.0, strict: bool = True,
                 integer: bool = False, maximum: float | None = None,
                 optional: bool = False) -> Any:
    """Return ``value`` if it is a real, finite number in range (never a bool; a whole
    number with ``integer``; above ``minimum``, or at least it when not ``strict``; at
    most ``maximum``), ``None`` when ``optional`` allows it. Otherwise raise
    ``ValidationError`` naming ``name`` and the allowed range; nothing is clamped."""
    if value is None and optional:
        return None
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if ok:
        # an int past float's range (10**400) is no amount anyone means, and float() of it raises
        finite = math.isfinite(value) if isinstance(value, float) else abs(value) < 2 ** 1023
        ok = finite and (value > minimum if strict else value >= minimum)
        ok = ok and (maximum is None or value <= maximum)
    if not ok:
        allowed = number_rule(minimum=minimum, strict=strict, integer=integer, maximum=maximum)
        kind = "a whole number" if integer else "a number"
        tail = " (or None)" if optional else ""
        raise ValidationError(f"{name} must be {kind} {allowed}{tail}, got {value!r}"[:300],
                              field=name, value=value, allowed=allowed)
    return value


def _unstorable(text: str) -> bool:
    """Whether ``text`` holds what no database keeps as text: NUL (PostgreSQL refuses it) or
    an unpaired surrogate (not UTF-8: SQLite's driver and PostgreSQL's both refuse it)."""
    return "\x00" in text or (not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text))


def check_storable(name: str, value: Any) -> Any:
    """Return ``value``; a ``str`` holding NUL or an unpaired surrogate raises
    ``ValidationError`` naming ``name``, so SQLite and PostgreSQL refuse it alike, before
    anything is written. Anything else is left to the caller's own check."""
    if isinstance(value, str) and _unstorable(value):
        raise ValidationError(f"{name} must not contain NUL ('\\x00') or an unpaired surrogate "
                              f"('\\ud800'-'\\udfff'): no database keeps them as text; got "
                              f"{value!r}"[:300], field=name, value=repr(value)[:80],
                              allowed="text without NUL or unpaired surrogates")
    return value


def check_text(name: str, value: Any, *, limit: int, blank: bool = False,
               optional: bool = False) -> Any:
    """Return ``value`` if it is a ``str`` of at most ``limit`` characters (not empty or only
    spaces, unless ``blank``) that every database keeps (see :func:`check_storable`);
    ``None`` when ``optional`` allows it. Otherwise raise ``ValidationError`` naming ``name``."""
    if value is None and optional:
        return None
    allowed = f"<= {limit:,} characters" if blank else f"1-{limit:,} characters"
    if not isinstance(value, str) or len(value) > limit or not (blank or value.strip()):
        kind = "text" if blank else "non-empty text"
        tail = " (or None)" if optional else ""
        got = f"{len(value):,} characters" if isinstance(value, str) and len(value) > limit else repr(value)
        raise ValidationError(f"{name} must be {kind} of {allowed}{tail}, got {got}"[:300], field=name,
                              value=value if not isinstance(value, str) else value[:80], allowed=allowed)
    return check_storable(name, value)
