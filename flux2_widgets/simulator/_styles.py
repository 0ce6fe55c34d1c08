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

from PIL import Image, ImageChops, ImageDraw, ImageFilter

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
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: min(170, v) * 5 // 7)
    pooled = ImageChops.subtract(img, edges.convert("RGB"))
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
    # Seven parts paint to three of paper inside the border, paper alone outside it.
    mask = mask.filter(ImageFilter.BoxBlur(1)).point(lambda v: v * 7 // 10).resize(img.size,
                                                                                    Image.Resampling.BILINEAR)
    # Uneven washes: pigment settles thicker here, thinner there (a few soft blotches
    # from the layout's generator, so every tier shows the same ones).
    blot = Image.frombytes("L", (12, 12), bytes(rng.randint(222, 255) for _ in range(144)))
    blot = blot.resize(img.size, Image.Resampling.BICUBIC)
    pooled = ImageChops.multiply(pooled, blot.convert("RGB"))
    out = Image.composite(pooled, Image.new("RGB", img.size, PAPER), mask)
    if p.fine:
        out = ImageChops.multiply(out, _grain(img.size))
    return out


@lru_cache(maxsize=4)
def _grain(size: tuple[int, int]) -> Image.Image:
    """Paper grain: short fibres on one small tile, repeated. Fibres rather than noise in
    every pixel: noise would make a 2k PNG ten times bigger and slower to encode."""
    rng = random.Random(7)  # seeded: the same bytes for the same task, in any process
    tile = Image.new("L", (256, 256), 255)
    draw = ImageDraw.Draw(tile)
    for _ in range(80):
        x, y, a, ln = rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, math.pi), rng.uniform(3, 9)
        draw.line((x, y, x + ln * math.cos(a), y + ln * math.sin(a)), fill=rng.choice((226, 234, 240)))
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
    # Warm grey graphite on off-white paper: one lookup table per channel.
    ink, paper = (40, 40, 46), (250, 248, 242)
    return Image.merge("RGB", [out.point([a + (b - a) * v // 255 for v in range(256)])
                               for a, b in zip(ink, paper, strict=True)])
