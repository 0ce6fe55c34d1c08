"""Static HTML for a comparison: the fallback where widgets do not render, and saved notebooks;
and a grid's plan before it runs.

The live view lives in ``widgets/comparison_view.py``; this one needs no ipywidgets.
"""

from __future__ import annotations

import base64
import html
from collections import Counter
from typing import TYPE_CHECKING

from .._sharing import sim_badge_html
from ..catalog import tier_label

if TYPE_CHECKING:  # pragma: no cover
    from .axes import GridPlan
    from .cell import Cell, Position
    from .comparison import Comparison

__all__ = ["HEADER_CHARS", "STATIC_POSITIONS", "blind_html", "cell_caption", "cell_html", "comparison_html",
           "grid_plan_html", "short", "votes_html", "votes_summary_html"]

#: Longest prompt shown in a row header before it is shortened.
HEADER_CHARS = 90
#: Most grid places drawn in the static HTML (a saved notebook stays small); the rest are
#: counted, and ``to_images()`` / ``to_csv()`` hold them all.
STATIC_POSITIONS = 48
_TD = '<td style="vertical-align:top;padding:4px 8px">'
_TH_ROW = '<th style="text-align:left;vertical-align:top;max-width:220px;padding:4px 8px;font-weight:normal">'


def comparison_html(cmp: Comparison) -> str:
    """Static table with thumbnails, for frontends without widgets (and saved HTML). A grid's
    place shows its first finished take; past ``STATIC_POSITIONS`` places the rest are counted."""
    if not cmp.revealed:
        return blind_html(cmp)
    head = "".join(f'<th style="padding:4px 8px">{html.escape(lbl)}</th>' for lbl in cmp.col_labels)
    tables, drawn = [], 0
    for page, page_label in enumerate(cmp.page_labels):
        body = []
        for r, row_label in enumerate(cmp.row_labels):
            if drawn >= STATIC_POSITIONS:
                break
            tds = []
            for c in range(len(cmp.col_labels)):
                try:
                    place = cmp.at(r, c, page)
                except KeyError:
                    tds.append(f"{_TD}</td>")
                    continue
                drawn += 1
                tds.append(f"{_TD}{position_html(place)}</td>")
            body.append(f"<tr>{_TH_ROW}{html.escape(short(row_label))}</th>{''.join(tds)}</tr>")
        if not body:
            break
        caption = (f'<caption style="text-align:left"><b>{html.escape(page_label)}</b></caption>'
                   if page_label else "")
        tables.append(f'<table style="border-collapse:collapse">{caption}'
                      f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    left = len(cmp.positions) - drawn
    more = (f"<div>… and {left} more place{'s' if left != 1 else ''} of the grid: "
            "<code>cmp.to_images()</code>, <code>cmp.to_csv(...)</code></div>") if left > 0 else ""
    badge = f" {sim_badge_html()}" if cmp.simulated else ""
    done = sum(c.done for c in cmp.cells)
    return (f'<div style="font:13px sans-serif"><div><b>{html.escape(cmp.title)}</b>{badge}</div>'
            f"{''.join(tables)}{more}"
            f"<div>{done}/{len(cmp.cells)} done &middot; total {html.escape(cmp.total_text)}"
            f"{votes_html(cmp)}</div></div>")


def position_html(place: Position) -> str:
    """One place of a grid: the reason it is empty, else its first finished take (which
    one, of how many, and how many are done)."""
    if place.skipped:
        return f'<div style="color:#666;font-style:italic">{html.escape(place.reason)}</div>'
    cell = place.shown
    assert cell is not None
    inner = cell_html(cell)
    if cell.takes > 1:
        done = sum(c.ok for c in place.cells)
        inner += (f'<div style="color:#555;font-size:12px">{html.escape(cell.take_label)} '
                  f"({done} of {cell.takes} finished)</div>")
    return inner


def grid_plan_html(plan: GridPlan) -> str:
    """A grid before it runs: shape, images, cost and time, the budget rule, the skipped
    places and why, and the headers it will show."""
    from .plans import DEFAULT_WINDOW, MAX_CELLS, duration_text, estimated_seconds

    pages, rows, cols = plan.shape
    n = plan.image_count
    seconds = duration_text(estimated_seconds(plan.requests, DEFAULT_WINDOW))
    shape = " × ".join(f"{k} {w}{'s' if k != 1 else ''}" for k, w in ((pages, "page"), (rows, "row"),
                                                                   (cols, "column")) if w != "page" or k > 1)
    rule = (f"more than {MAX_CELLS} images: <code>plan.run(budget=...)</code> (refused without a budget)"
            if n > MAX_CELLS else "<code>plan.run()</code> starts it")
    lines = [f"<b>{html.escape(plan.title)}</b> (not sent)",
             f"{shape}: {html.escape(plan.estimate_text)}",
             f"time: {seconds} at typical live latencies, {DEFAULT_WINDOW} at once",
             rule]
    if plan.skipped:
        reasons = Counter(s.reason for s in plan.skipped)
        items = "".join(f"<li>{html.escape(reason)}: {k} place{'s' if k != 1 else ''} "
                        f"(e.g. {html.escape(_where(s))})</li>"
                        for reason, k in reasons.items()
                        for s in [next(x for x in plan.skipped if x.reason == reason)])
        lines.append(f"skipped, not offered:<ul style=\"margin:2px 0 0 16px;padding:0\">{items}</ul>")
    heads = []
    dims = (("rows", plan.row_labels), ("columns", plan.col_labels), ("pages", plan.page_labels))
    for name, labels in dims:
        if any(labels):
            shown = ", ".join(html.escape(lbl) for lbl in labels[:8]) + (" …" if len(labels) > 8 else "")
            heads.append(f"{name}: {shown}")
    body = "".join(f"<div>{line}</div>" for line in lines + heads)
    return f'<div class="f2w-grid-plan" style="font:13px sans-serif">{body}</div>'


def _where(place: object) -> str:
    labels = [getattr(place, name, "") for name in ("col_label", "row_label", "page_label")]
    return " | ".join(p for p in labels if p)


def blind_html(cmp: Comparison) -> str:
    """A blind test before its vote: the images in their shuffled order, nothing else."""
    tds = []
    for place, index in zip(("Left", "Right"), cmp.order, strict=False):
        cell = cmp.cells[index]
        pic = f'<div style="color:#666">{"running" if not cell.done else cell.status}…</div>'
        src = _preview(cell) if cell.ok else None
        if src is not None:
            pic = f'<img src="{src}" style="max-width:320px;border-radius:6px"/>'
        tds.append(f'<td style="vertical-align:top;padding:4px 8px"><b>{place}</b><br>{pic}</td>')
    return (f'<div style="font:13px sans-serif"><div><b>Blind test</b>: labels, cost and latency stay '
            f'hidden until you vote (<code>cmp.vote("left" | "right" | "tie")</code>)</div>'
            f"<table><tr>{''.join(tds)}</tr></table></div>")


def short(text: str, n: int = HEADER_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def cell_caption(cell: Cell) -> str:
    """``Pro · 1k · 1024x1024 · $0.05 · 1.2s``: the cell's money as its run words it."""
    parts = [f"{tier_label(cell.request.tier)} · {cell.request.resolution}", cell.size_text, cell.cost_text]
    if cell.ok and cell.latency is not None:
        parts.append(f"{cell.latency:.1f}s")
    return " · ".join(p for p in parts if p)


def _preview(cell: Cell) -> str | None:
    """The cell's preview as a data URL: the run's own (made off the loop when it finished)."""
    run = cell.run
    if run is None or not run.preview:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(run.preview).decode()


def cell_html(cell: Cell) -> str:
    caption = f'<div style="color:#555;font-size:12px">{html.escape(cell_caption(cell))}</div>'
    src = _preview(cell) if cell.ok else None
    if src is not None:
        pic = (f'<img src="{src}" style="max-width:256px;border-radius:6px" '
               f'alt="{html.escape(cell.request.prompt[:80])}"/>')
        return f"{pic}{caption}"
    if cell.status == "failed":
        return (f'<div style="color:#b91c1c;max-width:256px">failed: {html.escape(cell.error_text)}</div>'
                f"{caption}")
    return f'<div style="color:#666">{html.escape(cell.status)}…</div>{caption}'


def votes_html(cmp: Comparison) -> str:
    if not cmp.sides or not cmp.votes:
        return ""
    return f" &middot; {votes_summary_html(cmp)}"


def votes_summary_html(cmp: Comparison) -> str:
    """``votes A: 2 · B: 1 · tie: 0 → A``, then each vote's note (a note is there to be read)."""
    if not cmp.sides:
        return ""
    tally = cmp.tally()
    parts = [f"{label}: {tally[k]}" for k, label in cmp.sides] + [f"tie: {tally['tie']}"]
    verdict = cmp.verdict
    lead = dict(cmp.sides).get(verdict, verdict)
    text = html.escape("votes " + " · ".join(parts) + (f" → {lead}" if verdict else ""))
    notes = [v for v in cmp.votes if v.get("note")]
    if notes:
        items = "".join(f"<li><b>{html.escape(v['winner'])}</b>: {html.escape(v['note'])}</li>"
                        for v in notes[-5:])
        more = f"<li>… and {len(notes) - 5} more (cmp.votes)</li>" if len(notes) > 5 else ""
        text += f'<ul class="f2w-vote-notes" style="margin:2px 0 0 16px;padding:0">{items}{more}</ul>'
    return text
