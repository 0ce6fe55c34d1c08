"""A comparison as one labelled picture: title, column and row headers, and under each
image its tier, size, cost and latency. For slides and reports (``cmp.save_image``).

Fonts are Pillow's built-in one at explicit sizes (Pillow >= 10.1), so the picture
looks the same on every machine with no font files to find. The layout (every
label's box) is kept in ``image.info["flux2_layout"]`` and the labels are written
as PNG text by :func:`save_png`, so a report tool can read them back.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import tier_label
from .html import short

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage
    from PIL import ImageFont

    from .cell import Cell
    from .comparison import Comparison

__all__ = ["comparison_image", "save_png", "wrap"]

MARGIN = 16
GAP = 12
TITLE_SIZE, HEAD_SIZE, ROW_SIZE, CAPTION_SIZE = 26, 18, 15, 14
ROW_HEADER_WIDTH = 220
BACKGROUND, INK, MUTED, FAIL = (255, 255, 255), (24, 24, 27), (82, 82, 91), (185, 28, 28)
PLACEHOLDER = (228, 228, 231)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def wrap(text: str, font: Any, width: int, max_lines: int = 3) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last line ends in "…" when cut."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    # a single word wider than the box: cut it
    out = []
    for item in lines:
        while font.getlength(item) > width and len(item) > 1:
            item = item[:-2] + "…"
        out.append(item)
    return out


def _caption(cmp: Comparison, cell: Cell) -> list[str]:
    req = cell.request
    head = f"{tier_label(req.tier)} · {req.resolution} · {cell.size_text}"
    lines = [head]
    if cell.ok and cell.result is not None:
        latency = f" · {cell.latency:.1f} s" if cell.latency is not None else ""
        lines.append(f"{cell.result.cost_text}{latency}")
    elif cell.status == "failed":
        lines.append(f"failed: {cell.error_text}")
    else:
        lines.append(f"{cell.status}…")
    return lines


def _picture(cell: Cell, side: int) -> PILImage.Image | None:
    if cell.result is None or not cell.result.images:
        return None
    try:
        img = cell.result.images[0].to_pil().convert("RGB")
    except Exception:  # undecodable or missing bytes: draw the placeholder
        return None
    img.thumbnail((side, side))
    return img


def comparison_image(cmp: Comparison, *, side: int = 512, title: str | None = None) -> PILImage.Image:
    """Draw the comparison; images fit a ``side`` x ``side`` box each. A blind test not yet
    voted on is drawn as Left / Right with no labels, like its view."""
    from PIL import Image, ImageDraw

    from .._checks import check_number

    check_number("side", side, minimum=64, strict=False, integer=True, maximum=2048)
    hidden = not cmp.revealed
    f_title, f_head, f_row, f_cap = (_font(s) for s in (TITLE_SIZE, HEAD_SIZE, ROW_SIZE, CAPTION_SIZE))
    n_cols = len(cmp.col_labels)
    grid: list[list[Cell | None]]
    if hidden:
        grid = [[cmp.cells[i] for i in cmp.order]]
        col_labels, row_labels = ["Left", "Right"][:n_cols], [""]
    else:
        grid = []
        for r in range(len(cmp.row_labels)):
            row: list[Cell | None] = []
            for c in range(n_cols):
                try:
                    row.append(cmp.cell(r, c))
                except KeyError:
                    row.append(None)
            grid.append(row)
        col_labels, row_labels = list(cmp.col_labels), list(cmp.row_labels)
    # One row: its label (the prompt) reads better as a subtitle than as a narrow column.
    subtitle = row_labels[0].strip() if len(row_labels) == 1 else ""
    show_rows = len(row_labels) > 1 and any(label.strip() for label in row_labels)
    pictures = {id(c): _picture(c, side) for row in grid for c in row if c is not None}
    # Per-cell prompts matter when columns differ by prompt (A/B) or come from history.
    prompt_captions = not hidden and cmp.kind in ("prompts", "results")

    cap_line = CAPTION_SIZE + 5
    cap_lines = 2 + (3 if prompt_captions else 0)
    row_heights = []
    for row in grid:
        tallest = max((p.height for c in row if c is not None and (p := pictures[id(c)]) is not None),
                      default=side)
        row_heights.append(tallest + 6 + cap_lines * cap_line)
    left = MARGIN + (ROW_HEADER_WIDTH + GAP if show_rows else 0)
    title_text = "Blind test: which is better?" if hidden else (title or cmp.title)
    if cmp.simulated and not hidden:
        title_text += " (simulated)"
    top = MARGIN + TITLE_SIZE + 14 + (ROW_SIZE + 8 if subtitle else 0)
    head_h = HEAD_SIZE + 10
    width = left + n_cols * side + (n_cols - 1) * GAP + MARGIN
    height = top + head_h + sum(row_heights) + GAP * (len(grid) - 1) + MARGIN
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    layout: dict[str, Any] = {"title": None, "columns": [], "rows": [], "cells": []}

    title_line = wrap(title_text, f_title, width - 2 * MARGIN, 1)[0]
    draw.text((MARGIN, MARGIN), title_line, font=f_title, fill=INK)
    layout["title"] = {"text": title_line, "box": _box(draw, (MARGIN, MARGIN), title_line, f_title)}
    if subtitle:
        sub_pos = (MARGIN, MARGIN + TITLE_SIZE + 8)
        sub_line = wrap(subtitle, f_row, width - 2 * MARGIN, 1)[0]
        draw.text(sub_pos, sub_line, font=f_row, fill=MUTED)
        layout["rows"].append({"text": row_labels[0], "box": _box(draw, sub_pos, sub_line, f_row)})
    for c, label in enumerate(col_labels):
        x = left + c * (side + GAP)
        text = wrap(label, f_head, side, 1)[0]
        tw = f_head.getlength(text)
        pos = (round(x + (side - tw) / 2), top)
        draw.text(pos, text, font=f_head, fill=INK)
        layout["columns"].append({"text": label, "box": _box(draw, pos, text, f_head)})
    y = top + head_h
    for r, row in enumerate(grid):
        if show_rows:
            lines = wrap(short(row_labels[r], 300), f_row, ROW_HEADER_WIDTH, 8)
            for i, line in enumerate(lines):
                draw.text((MARGIN, y + i * (ROW_SIZE + 5)), line, font=f_row, fill=MUTED)
            layout["rows"].append({"text": row_labels[r], "box": [MARGIN, y, MARGIN + ROW_HEADER_WIDTH,
                                                                 y + len(lines) * (ROW_SIZE + 5)]})
        box_h = row_heights[r] - 6 - cap_lines * cap_line
        for c, cell in enumerate(row):
            if cell is None:
                continue
            x = left + c * (side + GAP)
            pic = pictures[id(cell)]
            if pic is not None:
                px, py = x + (side - pic.width) // 2, y + (box_h - pic.height) // 2
                canvas.paste(pic, (px, py))
                image_box = [px, py, px + pic.width, py + pic.height]
            else:
                draw.rectangle([x, y, x + side - 1, y + box_h - 1], fill=PLACEHOLDER)
                image_box = [x, y, x + side, y + box_h]
            captions = [] if hidden else _caption(cmp, cell)
            if prompt_captions:
                captions += wrap(cell.request.prompt, f_cap, side, 3)
            cy = y + box_h + 6
            for i, line in enumerate(captions):
                colour = FAIL if i == 1 and cell.status == "failed" else (INK if i == 0 else MUTED)
                draw.text((x, cy + i * cap_line), wrap(line, f_cap, side, 1)[0], font=f_cap, fill=colour)
            layout["cells"].append({"index": cell.index, "image_box": image_box, "caption": captions,
                                    "caption_box": [x, cy, x + side, cy + max(1, len(captions)) * cap_line]})
        y += row_heights[r] + GAP
    canvas.info["flux2_layout"] = json.dumps(layout, ensure_ascii=False)
    return canvas


def _box(draw: Any, pos: tuple[int, int], text: str, font: Any) -> list[int]:
    return [round(v) for v in draw.textbbox(pos, text, font=font)]


def save_png(image: PILImage.Image, path: str | Path) -> Path:
    """Write PNG with the labels as text chunks (``Title``, ``Description``)."""
    from PIL.PngImagePlugin import PngInfo

    path = Path(path)
    if path.suffix.lower() != ".png":
        from ..errors import ValidationError

        raise ValidationError(f"save_image writes PNG; give a path ending in .png, not {path.name!r}",
                              field="path", value=str(path), allowed=".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    layout = json.loads(image.info.get("flux2_layout", "{}") or "{}")
    if layout.get("title"):
        info.add_itxt("Title", layout["title"]["text"])
    labels = [c["text"] for c in layout.get("columns", [])] + [r["text"] for r in layout.get("rows", [])]
    captions = [" | ".join(c["caption"]) for c in layout.get("cells", [])]
    info.add_itxt("Description", "\n".join(labels + captions))
    info.add_itxt("flux2_layout", json.dumps(layout, ensure_ascii=False))
    buf = io.BytesIO()
    image.save(buf, "PNG", pnginfo=info, optimize=True)
    path.write_bytes(buf.getvalue())
    return path
