"""One check for every number a caller passes in: options, timeouts, budgets, counts.

Neutral ground: it imports nothing but the errors, so the catalog's neighbours (money,
the comparisons, the CLI, the client) all check numbers the same way without pulling in
httpx or each other.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError

__all__ = ["check_number", "number_rule"]


def number_rule(*, minimum: float = 0.0, strict: bool = True, integer: bool = False,
                maximum: float | None = None) -> str:
    """What ``check_number`` allows, worded for people: ``"> 0"``, ``">= 0"``,
    ``"from 1 to 64"`` (a whole number in a closed range), ``"> 0 and <= 60"``."""
    if integer and not strict and maximum is not None:
        return f"from {minimum:,g} to {maximum:,g}"
    low = f"> {minimum:,g}" if strict else f">= {minimum:,g}"
    return low if maximum is None else f"{low} and <= {maximum:,g}"


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
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
        ok = ok and (maximum is None or value <= maximum)
    if not ok:
        allowed = number_rule(minimum=minimum, strict=strict, integer=integer, maximum=maximum)
        kind = "a whole number" if integer else "a number"
        tail = " (or None)" if optional else ""
        raise ValidationError(f"{name} must be {kind} {allowed}{tail}, got {value!r}"[:300],
                              field=name, value=value, allowed=allowed)
    return value
