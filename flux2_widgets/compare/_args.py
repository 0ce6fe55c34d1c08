"""Argument checks shared by the comparisons and the cost plan.

Each check returns the cleaned value or raises ``ValidationError`` naming the
allowed choices, so a bad plan fails before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._checks import check_number
from ..catalog import RESOLUTIONS, TIERS
from ..errors import ValidationError

#: ``check_number`` is the toolkit's one number check (``flux2_widgets._checks``), here for
#: the comparisons and the cost plan to take with the other argument checks.
__all__ = ["check_choices", "check_number", "check_prompts", "check_resolutions", "check_tiers"]


def check_choices(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError(f"{name} must be a list like {tuple(allowed)!r}, got {value!r}",
                              field=name, value=value, allowed=allowed) from None
    if not items:
        raise ValidationError(f"{name} is empty; give at least one of: {', '.join(allowed)}",
                              field=name, value=items, allowed=allowed)
    out: list[str] = []
    for item in items:
        key = item.strip().lower() if isinstance(item, str) else item
        if key not in allowed:
            singular = name.rstrip("s")
            raise ValidationError(f"unknown {singular} {item!r}; use one of: {', '.join(allowed)}",
                                  field=name, value=item, allowed=allowed)
        if key in out:
            raise ValidationError(f"{name} lists {key!r} twice; each column must differ",
                                  field=name, value=items, allowed=allowed)
        out.append(key)
    return tuple(out)


def check_tiers(tiers: Any) -> tuple[str, ...]:
    return check_choices("tiers", tiers, TIERS)


def check_resolutions(resolutions: Any) -> tuple[str, ...]:
    return check_choices("resolutions", resolutions, RESOLUTIONS)


def check_prompts(prompts: Any) -> tuple[str, ...]:
    if isinstance(prompts, str):
        prompts = (prompts,)
    try:
        items = tuple(prompts)
    except TypeError:
        raise ValidationError(f"prompts must be a list of strings, got {type(prompts).__name__}",
                              field="prompts", value=prompts, allowed="list of prompts") from None
    if not items:
        raise ValidationError("prompts is empty; give at least one prompt, e.g. ['a red fox in snow']",
                              field="prompts", value=items, allowed="list of prompts")
    cleaned = []
    for i, p in enumerate(items):
        if not isinstance(p, str):
            raise ValidationError(f"prompt #{i + 1} must be text, got {type(p).__name__}",
                                  field="prompts", value=p, allowed="str")
        if p.strip() in cleaned:
            raise ValidationError(f"prompt #{i + 1} repeats an earlier prompt; each row must differ",
                                  field="prompts", value=p, allowed="distinct prompts")
        cleaned.append(p.strip())
    return tuple(items)

