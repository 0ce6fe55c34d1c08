"""Jupyter widgets: ``Studio`` and ``CompareWidget``, built from the parts in ``_parts``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .studio import Studio

__all__ = ["CompareWidget", "Studio"]

if TYPE_CHECKING:  # pragma: no cover
    from .compare_widget import CompareWidget


def __getattr__(name: str) -> Any:
    # The comparison view pulls in the compare helpers; load it only when asked for.
    if name == "CompareWidget":
        from .compare_widget import CompareWidget

        globals()[name] = CompareWidget
        return CompareWidget
    raise AttributeError(f"module 'flux2_widgets.widgets' has no attribute {name!r}")
