"""Exploration grids on any axis (the X/Y/Z plot), expanded and checked before anything is sent.

An :class:`Axis` is one thing that varies: the prompt (a list of prompts, a ``{slot}``
of a template, or a phrase of a base prompt replaced), the tier, the resolution, the
aspect ratio, or the remix sources. :func:`expand_grid` puts axes on rows, columns and
pages and builds every cell's :class:`~flux2_widgets.catalog.ImageRequest`, each image
``takes`` times (Flux 2 on RunAPI has no seed, so repeats are how variance is seen);
:func:`grid` is the same for a notebook, axes named by keyword.

**Order** (deterministic): pages outermost, then rows, then columns, then takes. Several
axes on one dimension nest like ``itertools.product``: the first named varies slowest.
A search-and-replace axis lists the original phrase first. ``cell.values`` holds the
placed axes' values in that order, one column each for CSV or pandas.

The whole plan is validated before it is returned: a bad value, an empty or repeated
axis, a slot without values, a list for no slot, a phrase not in the prompt, or too many
images is a ``ValidationError`` naming the axis. A combination a tier does not offer
(Max at 2k, Max with "auto", Max with two sources) is refused with the reason, or, with
``skip_unoffered=True``, left out and listed in ``plan.skipped`` with the reason, so a
view can draw the empty cell ("Max: 1k only"). Budgets stay the caller's
(``money.check_budget(plan.requests, budget)``).

Longer than most modules, for one job: turning what a notebook types into a checked plan.
The axis checks, the prompt assembly and the expansion share the catalog's rules and one
way of naming the axis at fault; apart, each would reach into the other's internals.
"""

from __future__ import annotations

import heapq
import itertools
import math
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..catalog import (
    MAX_CONCURRENCY,
    REMIX_ASPECT_RATIOS,
    REQUEST_FIELDS,
    RESOLUTIONS,
    SOURCES_MAX,
    TIER_INFO,
    TIERS,
    TYPICAL_LATENCY,
    ImageRequest,
    tier_label,
)
from ..errors import ValidationError
from ..money import PriceLookup, estimate, sum_text

__all__ = ["MAX_GRID_IMAGES", "Axis", "GridCell", "GridImage", "GridPlan", "SkippedCell", "expand_grid",
           "grid", "label_for", "take_label"]

#: Most images one grid makes (cells x takes): more is a typo, and no screen shows it.
MAX_GRID_IMAGES = 2000
#: Axis kinds; every kind but ``slot`` and ``replace`` is also the axis's name.
KINDS = ("prompt", "slot", "replace", "tier", "resolution", "aspect_ratio", "sources")
_PROMPT_KINDS = ("prompt", "slot", "replace")
#: What a grid shows down the side when not told: what the picture is of, not how it is made.
_SIDE_KINDS = (*_PROMPT_KINDS, "sources")
#: Names a slot may not take: they are columns of the plan's rows (and of a comparison's) already.
_RESERVED = (*KINDS, "take", "page", "row", "col", "action", "source_image_urls", "comparison", "column",
             "cell", "side", "width", "height", "status", "error", "task_id", "estimated_cost",
             "billed_cost", "cost", "cost_source", "money", "latency_s", "images", "urls", "simulated",
             "shown_as", "votes_won", "votes_tied", "verdict", "vote_notes")
_HEADER_CHARS = 40
_SEP = " · "


def _shorten(text: str, width: int = _HEADER_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[width // 2:] else cut) + "…"


def _error(axis: str, message: str, value: Any = None, allowed: Any = None) -> ValidationError:
    return ValidationError(f"{axis}: {message}", field=axis, value=value, allowed=allowed)


def _as_tuple(name: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, (Mapping, set, frozenset)):
        # a dict would give its keys, a set an order of its own: neither is what was meant
        raise _error(name, f"takes a value or a list of values, not a {type(values).__name__}", values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = (values,)
    items = tuple(values)
    if not items:
        raise _error(name, "is empty; give at least one value")
    return items


def _source_set(value: Any) -> tuple[str, ...]:
    urls = (value,) if isinstance(value, str) else value
    if not isinstance(urls, (list, tuple)) or not urls or not all(isinstance(u, str) for u in urls):
        raise _error("sources", f"each value is a URL or a list of 1-{SOURCES_MAX} URLs, not {value!r}",
                     value, f"1-{SOURCES_MAX} http(s) URLs")
    if len(urls) > SOURCES_MAX:
        raise _error("sources", f"a remix takes at most {SOURCES_MAX} source images; one value has "
                     f"{len(urls)}", value, f"1-{SOURCES_MAX} URLs")
    return tuple(u.strip() for u in urls)


def _source_label(urls: tuple[str, ...]) -> str:
    parts = urlsplit(urls[0])
    name = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    return _shorten(name, 24) + (f" +{len(urls) - 1}" if len(urls) > 1 else "")


@dataclass(frozen=True)
class Axis:
    """One thing that varies across a grid, its values checked on construction.

    Build one with the class methods: ``Axis.prompt([...])``, ``Axis.slot("animal",
    [...])``, ``Axis.replace("red", ["blue", "golden"])``, ``Axis.tier([...])``,
    ``Axis.resolution([...])``, ``Axis.aspect_ratio([...])``, ``Axis.sources([...])``.
    """

    name: str
    kind: str
    values: tuple[Any, ...]
    #: The phrase a ``replace`` axis looks for in the base prompt.
    phrase: str | None = None
    #: One header per value, numbered where shortening made two alike.
    labels: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise _error("kind", f"{self.kind!r} is not an axis kind; use one of {', '.join(KINDS)}",
                         self.kind, KINDS)
        name = self.name
        if self.kind in ("slot", "replace"):
            if self.kind == "slot" and not (isinstance(name, str) and name.isidentifier()):
                raise _error("slot", f"{name!r} is not a slot name; use letters, digits and _ "
                             "({animal}, {place_2})", name, "an identifier")
            if not isinstance(name, str) or not name.strip():
                raise _error("replace", f"{name!r} is no phrase to look for; give the words to replace",
                             name, "a phrase of the base prompt")
            if name in _RESERVED:
                how = "name the slot" if self.kind == "slot" else "give Axis.replace a name="
                raise _error(name, f"is a column of the grid already; {how} something else "
                             f"(not {', '.join(_RESERVED)})", name)
        elif name != self.kind:
            raise _error(str(name), f"a {self.kind} axis is called {self.kind!r}", name, self.kind)
        values = _as_tuple(name, self.values)
        if self.kind == "replace":
            values = self._originals_first(values)
        cleaned = tuple(self._clean(v) for v in values)
        seen: set[Any] = set()
        for raw, value in zip(values, cleaned, strict=True):
            key = value.strip() if isinstance(value, str) else value
            if key in seen:
                raise _error(name, f"lists {raw!r} twice; each value must differ", raw)
            seen.add(key)
        object.__setattr__(self, "values", cleaned)
        labels = [self.label(v) for v in cleaned]
        clash = {lbl for lbl, n in Counter(labels).items() if n > 1}
        object.__setattr__(self, "labels", tuple(f"{i + 1}. {lbl}" if lbl in clash else lbl
                                                 for i, lbl in enumerate(labels)))

    def _originals_first(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        phrase = self.phrase
        if not isinstance(phrase, str) or not phrase:
            raise _error(self.name, "a replace axis needs the phrase to look for", phrase, "a phrase")
        if values[0] == phrase:
            return values
        if phrase in values:
            raise _error(self.name, f"the original {phrase!r} always comes first; list it first or "
                         "leave it out", values)
        return (phrase, *values)

    def _clean(self, value: Any) -> Any:
        kind, name = self.kind, self.name
        if kind in ("tier", "resolution", "aspect_ratio"):
            allowed = {"tier": TIERS, "resolution": RESOLUTIONS, "aspect_ratio": REMIX_ASPECT_RATIOS}[kind]
            key = value.strip().lower() if isinstance(value, str) else value
            if key not in allowed:
                raise _error(name, f"{value!r} is not a {kind.replace('_', ' ')}; use one of "
                             f"{', '.join(allowed)}", value, allowed)
            return key
        if kind == "sources":
            return _source_set(value)
        if kind == "slot" and not isinstance(value, bool) and isinstance(value, (int, float)):
            return value
        if not isinstance(value, str):
            raise _error(name, f"values are text{' or numbers' if kind == 'slot' else ''}, not {value!r}",
                         value, "str")
        return value

    # -- constructors a notebook reads well ------------------------------------------------
    @classmethod
    def prompt(cls, prompts: Iterable[str] | str) -> Axis:
        """Whole prompts, taken literally (no ``{slots}``)."""
        return cls("prompt", "prompt", tuple(_as_tuple("prompt", prompts)))

    @classmethod
    def slot(cls, name: str, values: Iterable[Any] | str) -> Axis:
        """Values for ``{name}`` in the base prompt (text or numbers)."""
        return cls(name, "slot", _as_tuple(str(name), values))

    @classmethod
    def replace(cls, phrase: str, values: Iterable[str] | str, *, name: str | None = None) -> Axis:
        """``phrase`` of the base prompt replaced by each value (every occurrence); the
        original prompt comes first. Named after the phrase unless ``name`` is given."""
        return cls(phrase if name is None else name, "replace",
                   _as_tuple(str(name or phrase), values), phrase=phrase)

    @classmethod
    def tier(cls, tiers: Iterable[str] | str) -> Axis:
        return cls("tier", "tier", _as_tuple("tier", tiers))

    @classmethod
    def resolution(cls, resolutions: Iterable[str] | str) -> Axis:
        return cls("resolution", "resolution", _as_tuple("resolution", resolutions))

    @classmethod
    def aspect_ratio(cls, ratios: Iterable[str] | str) -> Axis:
        return cls("aspect_ratio", "aspect_ratio", _as_tuple("aspect_ratio", ratios))

    @classmethod
    def sources(cls, sets: Iterable[Any] | str) -> Axis:
        """Remix source sets: each value one URL or a list of URLs. Implies remix."""
        return cls("sources", "sources", _as_tuple("sources", sets))

    # -- labels ----------------------------------------------------------------------------
    def label(self, value: Any) -> str:
        """``Pro``, ``2k``, ``16:9``, a prompt shortened for a header, ``fox.png +1``."""
        if self.kind == "tier":
            return tier_label(value)
        if self.kind == "sources":
            return _source_label(value)
        if self.kind == "prompt":
            return _shorten(value)
        text = str(value)
        return _shorten(text, 30) if text.strip() else "(none)"

    def __len__(self) -> int:
        return len(self.values)


def label_for(axes: Sequence[Axis], indices: Sequence[int]) -> str:
    """The header of one row, column or page: its axes' labels joined, ``Pro · 1k``."""
    return _SEP.join(axis.labels[i] for axis, i in zip(axes, indices, strict=True))


def take_label(take: int, takes: int) -> str:
    """``take 2/3`` for the second of three (``take`` counts from 0)."""
    return f"take {take + 1}/{takes}"


# -- the base prompt: literal text with holes for slots and replaced phrases ---------------

#: A hole in a prompt, filled with the value of the axis it names.
_Hole = tuple[str]


def _template(prompt: Any) -> list[str | _Hole]:
    """Literal text and ``(slot,)`` holes of a base prompt; ``{{`` and ``}}`` are braces."""
    if not isinstance(prompt, str):
        raise _error("prompt", f"must be text, not {type(prompt).__name__}", prompt, "str")
    try:
        parsed = list(string.Formatter().parse(prompt))
    except ValueError:
        raise _error("prompt", "has an unmatched brace; write {{ or }} for a literal brace, or {name} "
                     "for a slot", prompt) from None
    pieces: list[str | _Hole] = []
    for literal, name, spec, conversion in parsed:
        if literal:
            pieces.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise _error("prompt", f"{{{name}}} is not a slot; a slot is a plain name such as {{animal}} "
                         "(write {{ and }} for literal braces)", prompt, "{name}")
        pieces.append((name,))
    return pieces


def _with_phrases(text: str, axes: list[Axis]) -> list[str | _Hole]:
    """``text`` cut at every occurrence of each replace axis's phrase (left to right, as
    ``str.replace`` finds them); phrases that overlap are refused, since their order would
    decide the prompt."""
    spans: list[tuple[int, int, str]] = []
    for axis in axes:
        phrase = axis.phrase or ""
        start = text.find(phrase)
        if start < 0:
            raise _error(axis.name, f"{phrase!r} is not in the prompt {_shorten(text)!r}; replace a phrase "
                         "that is in it", phrase, "a phrase of the base prompt")
        while start >= 0:
            spans.append((start, start + len(phrase), axis.name))
            start = text.find(phrase, start + len(phrase))
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        if start < end:
            raise _error(b, f"its phrase overlaps {a!r}'s in the prompt; make the phrases distinct words",
                         b, "phrases that do not overlap")
    pieces: list[str | _Hole] = []
    at = 0
    for start, end, name in spans:
        if start > at:
            pieces.append(text[at:start])
        pieces.append((name,))
        at = end
    if at < len(text):
        pieces.append(text[at:])
    return pieces


def _prompt_pieces(prompt: Any, axes: list[Axis]) -> list[str | _Hole] | None:
    """How each cell's prompt is made from the base prompt and the prompt axes; ``None``
    when a prompt axis gives it whole."""
    by_kind = {k: [a for a in axes if a.kind == k] for k in _PROMPT_KINDS}
    if by_kind["prompt"]:
        if extra := by_kind["slot"] + by_kind["replace"]:
            raise _error(extra[0].name, "slots and replaced phrases work on one base prompt; with a "
                         "prompt axis, write each prompt out in full", extra[0].name)
        return None
    if prompt is None:
        raise _error("prompt", "is required: a base prompt, or a prompt axis", None, "3-5000 characters")
    pieces = _template(prompt)
    slots = [p[0] for p in pieces if isinstance(p, tuple)]
    if by_kind["replace"]:
        if slots:
            raise _error(by_kind["replace"][0].name, "the prompt has {slots}; make the phrase a slot too "
                         "(for example 'a {colour} fox' with colour=[...])", slots)
        return _with_phrases("".join(p for p in pieces if isinstance(p, str)), by_kind["replace"])
    given = [a.name for a in by_kind["slot"]]
    for name in given:
        if name not in slots:
            hint = next((f" (did you mean {k}=?)" for k in (*KINDS, "take", "row", "col", "page")
                         if name.rstrip("s") == k or name == f"{k}s"), "")
            raise _error(name, f"the prompt has no {{{name}}} slot; its slots are "
                         f"{', '.join(dict.fromkeys(slots)) or 'none'}{hint}", name, slots)
    for name in slots:
        if name not in given:
            raise _error(name, f"the prompt's slot {{{name}}} has no values; give {name}=[...]", name)
    return pieces


def _fill(pieces: list[str | _Hole], holes: Mapping[str, Any]) -> str:
    return "".join(p if isinstance(p, str) else str(holes[p[0]]) for p in pieces)


def _unoffered(fields: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, reason) when the tier does not offer this combination, from the catalog's
    tier facts; ``None`` when it does (or when ImageRequest will refuse it anyway)."""
    info = TIER_INFO.get(str(fields.get("tier", "pro")).strip().lower())
    if info is None:
        return None
    resolution = str(fields.get("resolution", "1k")).strip().lower()
    if resolution in RESOLUTIONS and resolution not in info.resolutions:
        return "resolution", f"{info.label}: {' or '.join(info.resolutions)} only"
    sources = fields.get("source_image_urls") or ()
    sources = (sources,) if isinstance(sources, str) else tuple(sources) if _many(sources) else ()
    ratio = str(fields.get("aspect_ratio", "1:1")).strip().lower()
    if ratio == "auto" and sources and not info.allows_auto_ratio:
        return "aspect_ratio", f"{info.label}: a concrete aspect ratio only, not auto"
    if info.max_sources < len(sources) <= SOURCES_MAX:
        many = "one source image" if info.max_sources == 1 else f"at most {info.max_sources} source images"
        return "sources", f"{info.label}: {many} only"
    if fields.get("enable_safety_checker") is not None and "enable_safety_checker" in info.forbidden:
        return "enable_safety_checker", f"{info.label}: no safety checker setting"
    return None


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One cell of a grid: where it sits, its axes' values and its request (made
    ``takes`` times)."""

    index: int
    page: int
    row: int
    col: int
    #: Placed axis name -> value, pages' first, then rows', then columns'.
    values: dict[str, Any]
    request: ImageRequest
    page_label: str
    row_label: str
    col_label: str
    takes: int

    @property
    def label(self) -> str:
        """``Pro · 1k | fox``: column, row and page headers that are not empty."""
        return " | ".join(p for p in (self.col_label, self.row_label, self.page_label) if p)


@dataclass(frozen=True)
class GridImage:
    """One image to make: a cell's request, take ``take`` (from 0) of ``cell.takes``."""

    index: int
    cell: GridCell
    take: int

    @property
    def request(self) -> ImageRequest:
        return self.cell.request

    @property
    def label(self) -> str:
        return take_label(self.take, self.cell.takes)


@dataclass(frozen=True)
class SkippedCell:
    """A place in the grid left empty: the tier does not offer the combination."""

    page: int
    row: int
    col: int
    values: dict[str, Any]
    page_label: str
    row_label: str
    col_label: str
    #: ``Max: 1k only``: what a view shows in the empty cell.
    reason: str
    #: The axis that asked for it (``resolution``, ``aspect_ratio``, ``sources`` or ``tier``).
    field: str


@dataclass(frozen=True)
class GridPlan:
    """A validated grid that has not been sent: its cells, the skipped places, the counts
    and estimates. Nothing in it touches the network."""

    page_axes: tuple[Axis, ...]
    row_axes: tuple[Axis, ...]
    col_axes: tuple[Axis, ...]
    #: Axes with one value, applied to every cell and not placed.
    fixed_axes: tuple[Axis, ...]
    page_labels: tuple[str, ...]
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    cells: tuple[GridCell, ...]
    skipped: tuple[SkippedCell, ...]
    takes: int
    images: tuple[GridImage, ...] = field(init=False, repr=False)
    _where: dict[tuple[int, int, int], GridCell | SkippedCell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        images = tuple(GridImage(i * self.takes + t, cell, t)
                       for i, cell in enumerate(self.cells) for t in range(self.takes))
        object.__setattr__(self, "images", images)
        items: list[GridCell | SkippedCell] = [*self.cells, *self.skipped]
        object.__setattr__(self, "_where", {(c.page, c.row, c.col): c for c in items})

    @property
    def shape(self) -> tuple[int, int, int]:
        """(pages, rows, columns)."""
        return len(self.page_labels), len(self.row_labels), len(self.col_labels)

    @property
    def cell_count(self) -> int:
        return len(self.cells)

    @property
    def image_count(self) -> int:
        return len(self.cells) * self.takes

    @property
    def requests(self) -> list[ImageRequest]:
        """One request per image (cells x takes), in plan order: what a budget check reads."""
        return [image.request for image in self.images]

    @property
    def axes(self) -> tuple[Axis, ...]:
        return (*self.page_axes, *self.row_axes, *self.col_axes)

    def at(self, row: int, col: int, page: int = 0) -> GridCell | SkippedCell:
        """The cell at a place, or the reason it is empty."""
        return self._where[page, row, col]

    def estimate(self, prices: PriceLookup | None = None) -> tuple[float, int]:
        """(USD of the images with a known price, how many images have none); ``prices``:
        a live lookup, else the catalog's. An unknown price is never counted as 0."""
        return estimate(self.requests, prices)

    @property
    def estimate_text(self) -> str:
        total, unknown = self.estimate()
        n, cells = self.image_count, self.cell_count
        text = f"{cells} cell{'s' if cells != 1 else ''}"
        if self.takes > 1:
            text += f" x {self.takes} takes = {n} images"
        text += f", about {sum_text(total, unknown)}"
        if self.skipped:
            text += f" ({len(self.skipped)} not offered, skipped)"
        return text

    def estimated_seconds(self, concurrency: int = MAX_CONCURRENCY) -> float | None:
        """Rough wall time with ``concurrency`` tasks at once, from the catalog's typical
        latencies (longest first into the freest slot). The service's own queue is not
        known, so read it as an order of magnitude; ``None`` if a latency is unknown."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"concurrency must be a whole number >= 1, not {concurrency!r}",
                                  field="concurrency", value=concurrency, allowed=">= 1")
        latencies = [TYPICAL_LATENCY.get((r.tier, r.resolution)) for r in self.requests]
        if any(t is None for t in latencies):
            return None
        slots = [0.0] * min(concurrency, max(1, len(latencies)))
        for t in sorted((t for t in latencies if t is not None), reverse=True):
            heapq.heapreplace(slots, slots[0] + t)
        return max(slots)

    @property
    def title(self) -> str:
        """``animal × tier · resolution, 3 takes``."""
        def names(axes: tuple[Axis, ...]) -> str:
            return _SEP.join(repr(a.phrase) if a.kind == "replace" and a.name == a.phrase
                             else a.name.replace("_", " ") for a in axes)
        dims = [names(d) for d in (self.row_axes, self.col_axes, self.page_axes) if d]
        takes = f", {self.takes} takes" if self.takes > 1 else ""
        return f"Grid: {' × '.join(dims) or 'one cell'}{takes}"

    def rows(self) -> list[dict[str, Any]]:
        """One dict per image, for CSV or pandas: place, take, each axis's value, and the
        request's fields (sources joined by spaces)."""
        out = []
        for image in self.images:
            cell, req = image.cell, image.request
            row: dict[str, Any] = {"page": cell.page, "row": cell.row, "col": cell.col,
                                   "take": image.take + 1}
            row.update({k: " ".join(v) if isinstance(v, tuple) else v for k, v in cell.values.items()})
            row.update({"prompt": req.prompt, "tier": req.tier, "resolution": req.resolution,
                        "aspect_ratio": req.aspect_ratio, "action": req.action,
                        "source_image_urls": " ".join(req.source_image_urls),
                        "estimated_cost": req.estimated_cost})
            out.append(row)
        return out

    def __repr__(self) -> str:
        return f"<GridPlan {self.title}: {self.estimate_text}>"

    # -- running (the comparison is built lazily: this module sends nothing) -----------------
    def check(self, budget: float | None = None) -> None:
        """What :meth:`run` checks first, sending nothing: past ``plans.MAX_CELLS`` images a
        budget is required (the estimate first), and the estimate must fit it."""
        from .plans import plan_from_grid

        plan_from_grid(self).check(budget)

    def run(self, client: Any = None, budget: float | None = None, timeout: float | None = None) -> Any:
        """Start the grid and return its running :class:`~flux2_widgets.compare.Comparison`
        (one cell per image). Past 48 images it needs ``budget=``; the budget is checked over
        every image before anything is sent."""
        from .plans import launch_grid

        return launch_grid(self, client=client, budget=budget, timeout=timeout)

    launch = run

    def _repr_html_(self) -> str:
        """The plan in a notebook: its shape, images, cost and time, and what was skipped."""
        from .html import grid_plan_html

        return grid_plan_html(self)


# -- expansion -----------------------------------------------------------------------------

_BASE_FIELDS = (*REQUEST_FIELDS, "action")
#: Which axis stands for a request field in an error.
_FIELD_AXIS = {"source_image_urls": "sources", "output_resolution": "resolution"}


def _dimension(name: str, spec: Any) -> tuple[Axis, ...]:
    if spec is None:
        return ()
    if isinstance(spec, Axis):
        return (spec,)
    axes = (spec,) if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable) else tuple(spec)
    if not all(isinstance(a, Axis) for a in axes):
        raise _error(name, f"takes an Axis or a list of Axis, not {spec!r}", spec, "Axis")
    return axes


def _base(base: Any) -> dict[str, Any]:
    if isinstance(base, str):
        return {"prompt": base}
    if not isinstance(base, Mapping):
        raise _error("base", f"is a prompt or a dict of request fields, not {type(base).__name__}", base,
                     _BASE_FIELDS)
    for key in base:
        if key not in _BASE_FIELDS:
            raise _error(str(key), f"is not a request field; the base takes {', '.join(_BASE_FIELDS)}", key,
                         _BASE_FIELDS)
    return dict(base)


def _blame(problem: str, names: set[str], prompt_axes: list[str]) -> str:
    """The axis to name for a request field's problem: the one that varies it, else the field."""
    target = _FIELD_AXIS.get(problem, problem)
    if target == "prompt" and prompt_axes:
        return prompt_axes[0]
    return target if target in names else problem


def expand_grid(base: Mapping[str, Any] | str, rows: Axis | Sequence[Axis] | None = None,
                cols: Axis | Sequence[Axis] | None = None, pages: Axis | Sequence[Axis] | None = None,
                takes: int = 1, *, fixed: Sequence[Axis] = (), skip_unoffered: bool = False) -> GridPlan:
    """Every combination of the axes on ``rows``, ``cols`` and ``pages``, over ``base``.

    ``base``: the fixed request fields (``prompt``, ``tier``, ``resolution``,
    ``aspect_ratio``, ``source_image_urls``, ...) or just the base prompt, whose
    ``{slots}`` slot axes fill and whose phrases replace axes swap. ``fixed``: axes with
    one value that apply everywhere (a slot held still). ``takes``: images per cell.
    A combination the tier does not offer is a ``ValidationError`` with the reason, or
    with ``skip_unoffered=True`` a :class:`SkippedCell` in ``plan.skipped``.
    """
    fields = _base(base)
    dims = {"pages": _dimension("pages", pages), "rows": _dimension("rows", rows),
            "cols": _dimension("cols", cols)}
    fixed_axes = _dimension("fixed", fixed)
    for axis in fixed_axes:
        if len(axis) != 1:
            raise _error(axis.name, f"has {len(axis)} values, so it cannot be fixed; put it on rows, cols "
                         "or pages", axis.values)
    axes = [*dims["pages"], *dims["rows"], *dims["cols"], *fixed_axes]
    names: set[str] = set()
    for axis in axes:
        if axis.name in names:
            raise _error(axis.name, "is placed twice; each axis goes on one of rows, cols, pages", axis.name)
        names.add(axis.name)
        taken = "source_image_urls" if axis.kind == "sources" else axis.kind
        if taken in fields and axis.kind not in ("slot", "replace"):
            raise _error(axis.name, f"is both an axis and fixed in the base ({taken}); drop one", axis.name)
    if isinstance(takes, bool) or not isinstance(takes, int) or takes < 1:
        raise _error("takes", f"is the number of images per cell, a whole number >= 1, not {takes!r}", takes,
                     ">= 1")
    if not isinstance(skip_unoffered, bool):
        raise _error("skip_unoffered", f"must be True or False, not {skip_unoffered!r}", skip_unoffered,
                     (True, False))
    pieces = _prompt_pieces(fields.get("prompt"), axes)
    n_cells = math.prod(len(a) for a in axes)  # fixed axes have one value
    if n_cells * takes > MAX_GRID_IMAGES:
        raise ValidationError(
            f"this grid would make {n_cells * takes:,} images ({n_cells:,} cells x {takes} take"
            f"{'s' if takes != 1 else ''}); one grid makes at most {MAX_GRID_IMAGES:,}. Drop values or "
            "takes, or split it into several grids.", field="images", value=n_cells * takes,
            allowed=f"<= {MAX_GRID_IMAGES}")
    combos = {d: list(itertools.product(*(range(len(a)) for a in dims[d]))) for d in dims}
    labels = {d: [label_for(dims[d], c) for c in combos[d]] for d in dims}
    prompt_axes = [a.name for a in axes if a.kind in _PROMPT_KINDS]
    cells: list[GridCell] = []
    skipped: list[SkippedCell] = []
    for (pi, pc), (ri, rc), (ci, cc) in itertools.product(*(enumerate(combos[d]) for d in dims)):
        chosen = [(a, a.values[i]) for a, i in zip((*dims["pages"], *dims["rows"], *dims["cols"]),
                                                    (*pc, *rc, *cc), strict=True)]
        chosen += [(a, a.values[0]) for a in fixed_axes]
        request_fields = dict(fields)
        holes: dict[str, Any] = {}
        for axis, value in chosen:
            if axis.kind in ("slot", "replace"):
                holes[axis.name] = value
            else:
                request_fields["source_image_urls" if axis.kind == "sources" else axis.kind] = value
        if pieces is not None:
            request_fields["prompt"] = _fill(pieces, holes)
        values = {a.name: v for a, v in chosen[: len(chosen) - len(fixed_axes)]}
        place = (labels["pages"][pi], labels["rows"][ri], labels["cols"][ci])
        if (why := _unoffered(request_fields)) is not None:
            blame = why[0] if why[0] in names else "tier" if "tier" in names else {
                "sources": "source_image_urls"}.get(why[0], why[0])
            skipped.append(SkippedCell(pi, ri, ci, values, *place, reason=why[1], field=blame))
            continue
        try:
            request = ImageRequest(**request_fields)
        except ValidationError as err:
            axis_name = _blame(err.field or "request", names, prompt_axes)
            where = " | ".join(p for p in place[::-1] if p)
            raise _error(axis_name, f"the cell {where!r} is not a request RunAPI takes: {err.message}",
                         err.value, err.allowed) from None
        cells.append(GridCell(len(cells), pi, ri, ci, values, request, *place, takes=takes))
    if skipped and (not skip_unoffered or not cells):
        first = skipped[0]
        reasons = ", ".join(dict.fromkeys(s.reason for s in skipped))
        where = " | ".join(p for p in (first.col_label, first.row_label, first.page_label) if p)
        fix = ("every cell is one the tier does not offer" if not cells else
               "drop those values, or pass skip_unoffered=True to leave those cells empty with the reason")
        asks = "asks" if len(skipped) == 1 else "ask"
        raise _error(first.field, f"{len(skipped)} of {n_cells} cells {asks} for what the tier does not "
                     f"offer ({reasons}), e.g. {where or 'the base request'}; {fix}", first.values,
                     [s.reason for s in skipped])
    return GridPlan(dims["pages"], dims["rows"], dims["cols"], fixed_axes, tuple(labels["pages"]),
                    tuple(labels["rows"]), tuple(labels["cols"]), tuple(cells), tuple(skipped), takes)


def _many(value: Any) -> bool:
    return not isinstance(value, (str, bytes)) and isinstance(value, Iterable)


def _names(dim: str, spec: Any, known: Mapping[str, Axis]) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, (Mapping, set, frozenset)):
        raise _error(dim, f"takes an axis name or a tuple of names, not a {type(spec).__name__}",
                     repr(spec)[:80], list(known))
    names = [spec] if isinstance(spec, str) else list(spec) if _many(spec) else [spec]
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise _error(dim, f"{name!r} is not an axis of this grid; its axes are "
                         f"{', '.join(known) or 'none'}", name, list(known))
    return names


def grid(prompt: str | Sequence[str], *, tier: str | Sequence[str] | None = None,
         resolution: str | Sequence[str] | None = None, aspect_ratio: str | Sequence[str] | None = None,
         sources: Any = None, source_image_urls: Sequence[str] | str | None = None,
         replace: Mapping[str, Sequence[str] | str] | None = None, takes: int = 1,
         rows: str | Sequence[str] | None = None, cols: str | Sequence[str] | None = None,
         pages: str | Sequence[str] | None = None, skip_unoffered: bool = False, **slots: Any) -> GridPlan:
    """A grid for a notebook: every list is an axis, every single value is fixed.

    >>> grid("a {animal} in snow", animal=["fox", "owl"], tier=["pro", "flex"],
    ...      resolution=["1k", "2k"], takes=3, rows="animal", cols=("tier", "resolution"))

    ``prompt``: one prompt (a template when it has ``{slots}``; ``{{`` for a brace) or a
    list of whole prompts. ``replace={"red": ["blue", "golden"]}`` swaps a phrase of the
    prompt (the original first). ``sources``: remix source sets, always an axis (each a
    URL or a list of URLs); ``source_image_urls`` fixes one set instead. ``rows``, ``cols``,
    ``pages``: axis names (a tuple nests them). Left out, prompt axes go down the side and
    the others across (one axis of either kind alone keeps its side); once ``rows`` or
    ``cols`` is given the rest go to the other; with both given, every axis with several
    values must be placed. Single values stay fixed.
    """
    base: dict[str, Any] = {}
    axes: list[Axis] = []
    if _many(prompt):
        axes.append(Axis.prompt(prompt))
    else:
        base["prompt"] = prompt
    for name, values in slots.items():
        axes.append(Axis.slot(name, values))
    if replace is not None and not isinstance(replace, Mapping):
        raise _error("replace", "takes a dict of each phrase to its replacements, "
                     f"{{'red': ['blue', 'golden']}}, not {replace!r}"[:300], repr(replace)[:80],
                     "{phrase: [replacements]}")
    for phrase, values in (replace or {}).items():
        # a phrase such as "side" or "page" would be named like a grid column: named apart
        clash = isinstance(phrase, str) and phrase in _RESERVED
        axes.append(Axis.replace(phrase, values, name=f"{phrase} (phrase)" if clash else None))
    for name, value in (("tier", tier), ("resolution", resolution), ("aspect_ratio", aspect_ratio)):
        if _many(value):
            axes.append(Axis(name, name, tuple(value)))  # type: ignore[arg-type]
        elif value is not None:
            base[name] = value
    if sources is not None:
        axes.append(Axis.sources(sources))
    if source_image_urls is not None:
        base["source_image_urls"] = source_image_urls
    known = {a.name: a for a in axes}
    placed = {d: _names(d, spec, known) for d, spec in (("pages", pages), ("rows", rows), ("cols", cols))}
    seen: set[str] = set()
    for dim, names in placed.items():
        for name in names:
            if name in seen:
                raise _error(dim, f"{name!r} is placed twice; each axis goes on one of rows, cols, pages",
                             name)
            seen.add(name)
    free = [a for a in axes if a.name not in seen and len(a) > 1]
    if free and rows is not None and cols is not None:
        raise _error(free[0].name, f"has {len(free[0])} values but is on no dimension; add it to rows=, "
                     "cols= or pages=", free[0].name, ["rows", "cols", "pages"])
    if rows is not None:
        placed["cols"] += [a.name for a in free]
    elif cols is not None:
        placed["rows"] += [a.name for a in free]
    else:
        side = [a.name for a in free if a.kind in _SIDE_KINDS]
        across = [a.name for a in free if a.kind not in _SIDE_KINDS]
        if side and across:
            placed["rows"] += side
            placed["cols"] += across
        elif side:
            placed["rows"] += side[:1]
            placed["cols"] += side[1:]
        elif len(across) == 1:
            placed["cols"] += across
        else:
            placed["rows"] += across[:1]
            placed["cols"] += across[1:]
    on_dims = {n for names in placed.values() for n in names}
    return expand_grid(base, rows=[known[n] for n in placed["rows"]] or None,
                       cols=[known[n] for n in placed["cols"]] or None,
                       pages=[known[n] for n in placed["pages"]] or None, takes=takes,
                       fixed=[a for a in axes if a.name not in on_dims], skip_unoffered=skip_unoffered)
