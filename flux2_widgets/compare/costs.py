"""Cost tables: what a plan would cost before a run, and estimated vs billed after."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._checks import check_number
from .._export import require_pandas, write_csv
from ..catalog import (
    ASPECT_RATIOS,
    MAX_PLANNED_IMAGES,
    RESOLUTIONS,
    TIERS,
    ImageRequest,
    pixel_size,
    request_label,
    resolution_options,
    tier_label,
)
from ..errors import ValidationError
from ..money import (
    BILLED,
    MAY_BE_BILLED,
    NOT_CHARGED,
    PriceLookup,
    catalog_price,
    format_usd,
    sum_costs,
    sum_text,
)
from ._args import check_resolutions, check_tiers

if TYPE_CHECKING:
    import pandas as pd

    from .cell import Cell  # pragma: no cover

__all__ = ["CostTable", "cost_table", "sum_costs", "sum_text"]


class CostTable:
    """A table of costs that shows itself in Jupyter, prints as text and exports.

    ``rows`` holds raw numbers (``None`` where a price is unknown); display
    formats them, so unknown prices read "n/a" and totals "+ n/a".
    """

    def __init__(self, title: str, columns: Sequence[tuple[str, str]], rows: list[dict[str, Any]],
                 totals: dict[str, Any], *, money: Iterable[str] = (), notes: Iterable[str] = (),
                 pending: str = "n/a") -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = rows
        self.totals = totals
        self.money = set(money)
        self.notes = [n for n in notes if n]
        #: How a money cell with no figure reads: "n/a" (no published price) in a plan,
        #: "open" (not known yet) in a comparison's billed column.
        self.pending = pending

    # totals are what people read first
    @property
    def total_estimated(self) -> float | None:
        return self.totals.get("estimated_cost")

    @property
    def total_billed(self) -> float | None:
        return self.totals.get("billed_cost")

    def _shown(self) -> list[tuple[str, str]]:
        """Columns worth printing: a column with nothing in it (no notes) is left out."""
        return [(k, h) for i, (k, h) in enumerate(self.columns)
                if i == 0 or k in self.totals or any(r.get(k) not in (None, "") for r in self.rows)]

    def _right(self, key: str) -> bool:
        """Numbers line up on the right, words on the left."""
        return key in self.money or all(isinstance(r.get(key), (int, float)) for r in self.rows)

    def _cell_text(self, key: str, value: Any, *, total: bool = False) -> str:
        if key in self.money:
            if total and isinstance(value, str):
                return value
            if value is None and key != "estimated_cost" and not total:
                return self.pending
            return format_usd(value)
        if value is None:
            return ""
        return str(value)

    def _total_row(self) -> list[str]:
        out = []
        for i, (key, _) in enumerate(self._shown()):
            if i == 0:
                out.append("total")
            elif key in self.totals:
                value = self.totals[key]
                if key in self.money and not isinstance(value, str):
                    value = sum_text(value, self.totals.get(f"{key}_unknown", 0))
                out.append(self._cell_text(key, value, total=True))
            else:
                out.append("")
        return out

    def _matrix(self) -> list[list[str]]:
        return [[self._cell_text(k, row.get(k)) for k, _ in self._shown()] for row in self.rows]

    def __str__(self) -> str:
        headers = [h for _, h in self._shown()]
        body = self._matrix()
        total = self._total_row()
        widths = [max(len(headers[i]), *(len(r[i]) for r in [*body, total])) for i in range(len(headers))]

        right = [i > 0 and self._right(k) for i, (k, _) in enumerate(self._shown())]

        def line(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if r else c.ljust(w)
                             for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

        rule = "  ".join("-" * w for w in widths)
        parts = [self.title, line(headers), rule, *(line(r) for r in body), rule, line(total)]
        parts += [f"* {n}" for n in self.notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        shown = self._shown()
        align = ["right" if i > 0 and self._right(k) else "left" for i, (k, _) in enumerate(shown)]
        th = "".join(f'<th style="text-align:{a};padding:2px 10px">{html.escape(h)}</th>'
                     for a, (_, h) in zip(align, shown, strict=True))

        def tr(cells: list[str], bold: bool = False) -> str:
            tds = "".join(f'<td style="text-align:{a};padding:2px 10px">'
                          f"{'<b>' if bold else ''}{html.escape(c)}{'</b>' if bold else ''}</td>"
                          for a, c in zip(align, cells, strict=True))
            return f"<tr>{tds}</tr>"

        body = "".join(tr(r) for r in self._matrix())
        notes = "".join(f'<div style="color:#666;font-size:12px">{html.escape(n)}</div>' for n in self.notes)
        return (f'<div style="font:13px sans-serif"><div><b>{html.escape(self.title)}</b></div>'
                f'<table style="border-collapse:collapse"><thead><tr>{th}</tr></thead>'
                f'<tbody>{body}</tbody><tfoot style="border-top:1px solid #999">'
                f"{tr(self._total_row(), bold=True)}</tfoot></table>{notes}</div>")

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame (raw numbers, ``None``/NaN where unknown)."""
        return require_pandas().DataFrame(self.rows, columns=[k for k, _ in self.columns] or None)

    def to_csv(self, path: str | Path) -> Path:
        return write_csv(path, self.rows)



def cost_table(tiers: Sequence[str] | str = TIERS, resolutions: Sequence[str] | str = RESOLUTIONS,
               images: int = 1, aspect_ratio: str = "1:1", prices: PriceLookup | None = None) -> CostTable:
    """What a plan costs before running anything: one row per tier x resolution.

    ``images`` is how many images of each combination you plan (e.g. the number
    of prompts in a grid). Unpublished prices (Max) show "n/a" and the total
    says "+ n/a"; combinations a tier does not offer are listed and not counted.
    Prices are the catalog's per-image figures, or ``prices`` (a lookup such as
    ``client.prices()``, the service's live list) when given.
    """
    tiers_ = check_tiers(tiers)
    resolutions_ = check_resolutions(resolutions)
    check_number("images", images, minimum=1, strict=False, integer=True, maximum=MAX_PLANNED_IMAGES)
    if not isinstance(aspect_ratio, str) or aspect_ratio not in ASPECT_RATIOS:
        raise ValidationError(f"aspect_ratio {aspect_ratio!r} is not allowed; use one of: "
                              f"{', '.join(ASPECT_RATIOS)}", field="aspect_ratio", value=aspect_ratio,
                              allowed=ASPECT_RATIOS)
    rows: list[dict[str, Any]] = []
    not_offered: list[str] = []
    for tier in tiers_:
        for res in resolutions_:
            if res not in resolution_options(tier):
                # a combination that does not exist is said once, not listed as a row of zeros
                not_offered.append(f"{request_label(tier, res)} is not offered ({tier_label(tier)}: "
                                   f"{', '.join(resolution_options(tier))} only)")
                continue
            size = pixel_size(aspect_ratio, res)
            unit = (prices or catalog_price)(ImageRequest("cost table", tier=tier, resolution=res,
                                                          aspect_ratio=aspect_ratio))
            rows.append({
                "tier": tier_label(tier), "resolution": res,
                "size": f"{size[0]}x{size[1]}" if size else "auto",
                "unit_price": unit, "images": images,
                "estimated_cost": None if unit is None else round(unit * images, 6),
                "note": "" if unit is not None else "price not published",
            })
    counted = rows
    total, unknown = sum_costs(r["estimated_cost"] for r in counted)
    source = getattr(prices, "source", "catalog" if prices is None else "the given price list")
    where = ("the service's live price list" if source == "live"
             else "the catalog (live pricing may differ)" if source == "catalog" else source)
    notes = [f"sizes are approximate; prices are per image from {where}", *not_offered]
    if unknown:
        notes.append("n/a: price not published")
    return CostTable(
        f"Cost plan: {len(counted)} combination{'s' if len(counted) != 1 else ''} x {images} "
        f"image{'s' if images != 1 else ''}",
        [("tier", "tier"), ("resolution", "resolution"), ("size", "size"), ("unit_price", "per image"),
         ("images", "images"), ("estimated_cost", "estimated"), ("note", "note")],
        rows,
        {"images": sum(r["images"] for r in counted), "estimated_cost": total,
         "estimated_cost_unknown": unknown},
        money=("unit_price", "estimated_cost"), notes=notes,
    )


def cells_cost_table(title: str, cells: Sequence[Cell], *, simulated: bool, done: bool) -> CostTable:
    """Estimated vs billed per cell, with totals, each cell's money worded by its run."""
    rows: list[dict[str, Any]] = []
    for c in cells:
        rows.append({
            "prompt": c.request.prompt, "cell": c.col_label, "tier": c.request.tier,
            "resolution": c.request.resolution, "size": c.size_text, "status": c.status,
            "estimated_cost": c.estimated_cost, "billed_cost": c.billed_cost,
            "money": c.money, "note": _cell_note(c),
        })
    est, est_unknown = sum_costs(r["estimated_cost"] for r in rows)
    billed, billed_unknown = sum_costs(c.billed_cost for c in cells if c.money == BILLED)
    maybe, maybe_unknown = sum_costs(c.cost for c in cells if c.money == MAY_BE_BILLED)
    notes = ["billed: usage.cost reported by the API; a task is free only when the service says it "
             "failed or refused it"]
    if maybe or maybe_unknown:
        notes.append(f"{sum_text(maybe, maybe_unknown)} may still be billed: stopped or cut-off cells whose "
                     "tasks may finish on the service (cmp.refresh() asks it)")
    if simulated:
        notes.append("SIMULATED: nothing was charged; 'billed' is what it would have cost")
    if not done:
        running = sum(not c.done for c in cells)
        notes.append(f"{running} cell{'s' if running != 1 else ''} still running")
    return CostTable(
        f"{title}: estimated vs billed",
        [("prompt", "prompt"), ("cell", "cell"), ("size", "size"), ("status", "status"),
         ("estimated_cost", "estimated"), ("billed_cost", "billed"), ("note", "note")],
        rows,
        {"estimated_cost": est, "estimated_cost_unknown": est_unknown,
         "billed_cost": _billed_total(billed, billed_unknown, maybe, maybe_unknown),
         "billed_cost_unknown": billed_unknown},
        money=("estimated_cost", "billed_cost"), notes=notes, pending="open",
    )


def _billed_total(billed: float, unknown: int, maybe: float, maybe_unknown: int = 0) -> float | str:
    """The billed total, which never reads $0.00 while cells may still be billed (those with
    no published price count as "n/a": "up to" a sum that leaves them out would be false)."""
    if not maybe and not maybe_unknown:
        return billed
    up_to = (f"up to {format_usd(maybe)} may still be billed" if not maybe_unknown else
             f"{sum_text(maybe, maybe_unknown)} may still be billed")
    return f"{sum_text(billed, unknown)} + {up_to}" if billed else up_to


def _cell_note(cell: Cell) -> str:
    money = cell.money
    if money == NOT_CHARGED:
        return f"{cell.status}: not charged"
    if money == MAY_BE_BILLED:
        return f"{cell.status}: may still be billed ({format_usd(cell.cost, approx=True)})"
    if money == BILLED and cell.billed_cost is None:
        return "billed: amount not reported by the API (estimate)"
    if money == BILLED and cell.status != "completed":
        return f"{cell.status}: billed"
    if not cell.done:
        return cell.status
    return ""
