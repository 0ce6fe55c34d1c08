"""Finishing a picture in the medium its prompt names: a watercolor or a pencil sketch.

Applied to the composed canvas before Pro's upscale, so the tiers still differ
the same way: Flex's washes keep crisp pigment edges and paper grain, its sketch
fine hatching; Pro's are the same picture, softer. A few whole-image filters
(Pillow's C code), so a 2k render stays cheap.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from ._paint import Painter

__all__ = ["finish"]

PAPER = (247, 243, 232)


def finish(img: Image.Image, style: str | None, p: Painter, rng: random.Random) -> Image.Image:
    """``img`` in the medium ``style`` names (``None``: unchanged)."""
    if style == "watercolor":
        return _watercolor(img, p, rng)
    if style == "sketch":
        return _sketch(img, p)
    return img


def _watercolor(img: Image.Image, p: Painter, rng: random.Random) -> Image.Image:
    """Pale washes on paper: colours thinned, pigment pooled along the edges of each
    wash, the paper showing at a ragged border, and (fine tiers) its grain."""
    w, h = img.size
    paper = Image.new("RGB", img.size, PAPER)
    wash = Image.blend(img, paper, 0.3)
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: min(120, v) // 2)
    wash = ImageChops.subtract(wash, Image.merge("RGB", (edges, edges, edges)))
    # The ragged border: drawn small and scaled up, which also softens it.
    f = 8
    mask = Image.new("L", (max(2, w // f), max(2, h // f)), 0)
    mw, mh = mask.size
    inset = 0.035 * min(mw, mh)
    pts = []
    for k in range(48):
        t = k / 48 * math.tau
        # A rounded rectangle traced by angle, its edge wobbling in and out.
        cx, cy = math.cos(t), math.sin(t)
        scale = 1 / max(abs(cx), abs(cy))
        wobble = inset * (1 + 0.6 * rng.uniform(-1, 1))
        pts.append((mw / 2 + cx * scale * (mw / 2 - wobble), mh / 2 + cy * scale * (mh / 2 - wobble)))
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    mask = mask.filter(ImageFilter.BoxBlur(1)).resize(img.size, Image.Resampling.BILINEAR)
    out = Image.composite(wash, paper, mask)
    if p.fine:
        out = ImageChops.multiply(out, _grain(img.size))
    return out


@lru_cache(maxsize=4)
def _grain(size: tuple[int, int]) -> Image.Image:
    """Paper grain: one small noise tile repeated (noise for every pixel of a 2k image
    would cost more than the rest of the picture)."""
    rng = random.Random(7)  # seeded: the same bytes for the same task, in any process
    noise = bytes(255 - int(abs(rng.gauss(0, 40))) // 5 for _ in range(256 * 256))
    tile = Image.frombytes("L", (256, 256), noise)
    grain = Image.new("L", size)
    for y in range(0, size[1], 256):
        for x in range(0, size[0], 256):
            grain.paste(tile, (x, y))
    return Image.merge("RGB", (grain, grain, grain))


def _sketch(img: Image.Image, p: Painter) -> Image.Image:
    """Graphite on paper: outlines where the picture has edges, light shading for its
    tones, hatching over the dark ones (fine tiers), no colour."""
    grey = img.convert("L")
    # Outlines twice over: the fine ones at full size, bolder ones from a half-size pass.
    fine = grey.filter(ImageFilter.FIND_EDGES)
    bold = grey.reduce(2).filter(ImageFilter.FIND_EDGES).resize(img.size, Image.Resampling.BILINEAR)
    lines = ImageChops.lighter(fine, bold).point(lambda v: 255 - min(220, v * 4))
    tone = grey.point(lambda v: 255 - (255 - v) * 11 // 20)
    out = ImageChops.multiply(tone, lines)
    if p.fine:
        hatch = Image.new("L", img.size, 255)
        d = ImageDraw.Draw(hatch)
        step = max(3, round(5 * p.px))
        for x in range(-img.height, img.width, step):
            d.line((x, img.height, x + img.height, 0), fill=170, width=p.stroke(1))
        light_parts = grey.point(lambda v: 255 if v > 120 else 0)
        out = ImageChops.multiply(out, ImageChops.lighter(hatch, light_parts))
    return ImageOps.colorize(out, black=(40, 40, 46), white=(250, 248, 242))
