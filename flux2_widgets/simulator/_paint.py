"""The canvas every motif paints on: colour helpers, light, stroke sizes and fine detail.

A ``Painter`` knows the size of one *output* pixel on its canvas (1 when a tier
draws at full size, 1/2 when Pro composes small and is scaled up), the scene's
light and the tier's detail level, so every motif sizes its fine strokes the same
way: a 2k image gets strokes a 1k image has no room for, Pro a third of them.
A ``Pose`` says where a motif stands and how it looks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

__all__ = ["RGB", "Point", "Painter", "Pose", "bezier", "ellipse_points", "mix", "shade",
           "sorted_box"]

RGB = tuple[int, int, int]
Point = tuple[float, float]


def mix(a: Sequence[int], b: Sequence[int], t: float) -> RGB:
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def shade(c: Sequence[int], f: float) -> RGB:
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))


def sorted_box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """A box from two corners in any order (Pillow wants the top-left first)."""
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def bezier(p0: Point, p1: Point, p2: Point, n: int = 12) -> list[Point]:
    """Points along the quadratic curve from ``p0`` to ``p2`` pulled towards ``p1``."""
    out = []
    for k in range(n + 1):
        t = k / n
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0,
                   n: int = 28) -> list[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for k in range(n):
        t = k * math.tau / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


@dataclass(frozen=True)
class Pose:
    """Where a motif stands and how it looks, in canvas pixels: centre x, the ground
    y it stands on, its size (about its height), which way it faces (1 or -1), the
    prompt's colour for it, and the prompt's traits (``old``, ``paper``, ``curled``...)."""

    cx: float
    gy: float
    s: float
    facing: int = 1
    colour: RGB | None = None
    traits: frozenset[str] = frozenset()


class Painter:
    """A canvas plus what every motif needs: the light, the detail level and the
    size of one output pixel on this canvas (1 for full-size drawing, 1/4 for Pro)."""

    def __init__(self, img: Image.Image, *, px: float, detail: float, gain: Sequence[float],
                 fine_rng: random.Random) -> None:
        self.img = img
        self.draw = ImageDraw.Draw(img, "RGBA")
        self.w, self.h = img.size
        self.u = min(self.w, self.h)
        self.px = px
        self.detail = detail
        #: Full-size drawing with fine decorations (masonry, shingles, spokes...).
        self.fine = detail >= 1
        #: Dark enough that windows, lamps and headlights are lit.
        self.dark = gain[0] < 0.6
        self.gain = gain
        self.frng = fine_rng
        self._glows: list[tuple[str, tuple[float, float, float, float], RGB]] = []

    # -- colour and size helpers ------------------------------------------------
    def lit(self, c: Sequence[int]) -> RGB:
        """A surface colour under the scene's light (emissive colours skip this)."""
        g = self.gain
        return (min(255, int(c[0] * g[0])), min(255, int(c[1] * g[1])), min(255, int(c[2] * g[2])))

    def pale(self, c: Sequence[int]) -> RGB:
        """A pale surface (snow, paper) under the scene's light: half its tint and
        dimming, so fresh snow at dawn stays white and a paper boat shows at night."""
        g = [1 - 0.5 * (1 - v) for v in self.gain]
        return (min(255, int(c[0] * g[0])), min(255, int(c[1] * g[1])), min(255, int(c[2] * g[2])))

    def stroke(self, out_px: float = 1.0) -> int:
        return max(1, round(out_px * self.px))

    def count(self, area: float, per_kpx: float) -> int:
        """How many fine elements of density ``per_kpx`` (per 1000 output pixels)
        fit an ``area`` of canvas pixels, at this tier's detail level."""
        if self.detail <= 0:
            return 0
        return int(area / (self.px * self.px) / 1000 * per_kpx * self.detail)

    def glow(self, kind: str, box: tuple[float, float, float, float], colour: RGB) -> None:
        """Queue a soft light (``kind`` "ellipse" or "rect", canvas coordinates)."""
        self._glows.append((kind, box, colour))

    def apply_glows(self) -> None:
        if not self._glows:
            return
        # Only the region the lights cover is composited, from a layer an eighth
        # of its size: blurring small and scaling up is a wide glow for little work.
        f, pad = 8, self.u * 0.1
        x0 = max(0, int(min(g[1][0] for g in self._glows) - pad))
        y0 = max(0, int(min(g[1][1] for g in self._glows) - pad))
        x1 = min(self.w, int(max(g[1][2] for g in self._glows) + pad) + 1)
        y1 = min(self.h, int(max(g[1][3] for g in self._glows) + pad) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            self._glows.clear()
            return
        layer = Image.new("RGB", (max(1, (x1 - x0) // f), max(1, (y1 - y0) // f)))
        d = ImageDraw.Draw(layer)
        for kind, (bx0, by0, bx1, by1), colour in self._glows:
            box = ((bx0 - x0) / f, (by0 - y0) / f, (bx1 - x0) / f, (by1 - y0) / f)
            (d.ellipse if kind == "ellipse" else d.rectangle)(box, fill=colour)
        layer = layer.filter(ImageFilter.GaussianBlur(max(1.5, self.u / f / 40)))
        region = self.img.crop((x0, y0, x1, y1))
        layer = layer.resize(region.size, Image.Resampling.BILINEAR)
        self.img.paste(ImageChops.screen(region, layer), (x0, y0))
        self._glows.clear()

    def vgradient(self, box: tuple[int, int, int, int], stops: Sequence[Sequence[int]]) -> None:
        """Fill ``box`` with a top-to-bottom blend through ``stops`` (a row per line:
        cheaper than scaling a tiny image up to several megapixels)."""
        x0, y0, x1, y1 = box
        span, last = max(1, y1 - y0 - 1), len(stops) - 1
        for y in range(y0, y1):
            t = (y - y0) / span * last
            k = min(int(t), last - 1) if last else 0
            c = mix(stops[k], stops[min(k + 1, last)], t - k) if last else tuple(stops[0])
            self.draw.line((x0, y, x1, y), fill=c)

    # -- fine detail --------------------------------------------------------------
    def strokes_in_ellipse(self, cx: float, cy: float, rx: float, ry: float, n: int, length: float,
                           colours: Sequence[RGB], angle: float = 0.0, spread: float = 0.5,
                           alpha: int = 170) -> None:
        rng, d, wdt = self.frng, self.draw, self.stroke(1)
        for _ in range(n):
            r, t = math.sqrt(rng.random()), rng.random() * math.tau
            x, y = cx + rx * r * math.cos(t), cy + ry * r * math.sin(t)
            a = angle + rng.uniform(-spread, spread)
            ln = length * rng.uniform(0.6, 1.3)
            d.line((x, y, x + ln * math.cos(a), y + ln * math.sin(a)), fill=(*rng.choice(colours), alpha),
                   width=wdt)

    def hatch(self, box: tuple[float, float, float, float], pitch_out: float, colour: RGB,
              alpha: int = 60, vertical: bool = False) -> None:
        """Parallel 1-pixel lines every ``pitch_out`` output pixels (fine tiers only)."""
        if not self.fine:
            return
        x0, y0, x1, y1 = box
        step = max(2.0, pitch_out * self.px)
        fill, wdt = (*colour, alpha), self.stroke(1)
        if vertical:
            x = x0
            while x < x1:
                self.draw.line((x, y0, x, y1), fill=fill, width=wdt)
                x += step
        else:
            y = y0
            while y < y1:
                self.draw.line((x0, y, x1, y), fill=fill, width=wdt)
                y += step
