"""Simple recognisable motifs (a fox, a house, a boat...) drawn with Pillow primitives.

Every motif draws its shape from the layout random generator it is given, so a
prompt keeps its composition across tiers and resolutions, and its fine detail
(fur, shingles, rigging, leaves, windows' frames) from the painter's own
generator, sized in *output* pixels: a 2k image gets strokes a 1k image has no
room for. Pro (``detail`` below 1) gets a third of the strokes and none of the
decorations.

Longer than most modules, for one job: a catalogue of small drawing functions, one per
subject, that share the same stroke and detail rules.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter

__all__ = ["Painter", "MOTIFS", "ellipse_points"]

RGB = tuple[int, int, int]
Point = tuple[float, float]


def mix(a: Sequence[int], b: Sequence[int], t: float) -> RGB:
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def shade(c: Sequence[int], f: float) -> RGB:
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))


def ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0,
                   n: int = 28) -> list[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for k in range(n):
        t = k * math.tau / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


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


# -- motifs ---------------------------------------------------------------------------
# Each takes (painter, layout rng, centre x, ground y, size, facing, colour or None)
# in canvas pixels; ``size`` is about the motif's height.
Motif = Callable[[Painter, random.Random, float, float, float, int, "RGB | None"], None]


def fox(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    fur = p.lit(colour or (220, 105, 35))
    dark, white = p.lit((45, 30, 25)), p.lit((245, 240, 232))
    d = p.draw
    tail_c = (cx - f * 0.6 * s, gy - 0.42 * s)
    tail_a = f * 0.45
    d.polygon(ellipse_points(*tail_c, 0.32 * s, 0.11 * s, tail_a), fill=fur)
    tip = (tail_c[0] - f * 0.27 * s * math.cos(0.45), tail_c[1] - 0.27 * s * math.sin(0.45))
    d.polygon(ellipse_points(*tip, 0.09 * s, 0.07 * s, tail_a), fill=white)
    for dx in (-0.28, -0.17, 0.17, 0.27):
        x = cx + f * dx * s
        d.rectangle((x - 0.03 * s, gy - 0.34 * s, x + 0.03 * s, gy), fill=dark)
    d.ellipse((cx - 0.38 * s, gy - 0.53 * s, cx + 0.38 * s, gy - 0.19 * s), fill=fur)
    d.ellipse((cx + f * 0.24 * s - 0.1 * s, gy - 0.42 * s, cx + f * 0.24 * s + 0.1 * s, gy - 0.22 * s),
              fill=white)
    hx, hy = cx + f * 0.36 * s, gy - 0.6 * s
    for ex in (-0.04, 0.07):
        ear = [(hx + f * (ex - 0.05) * s, hy - 0.05 * s), (hx + f * ex * s, hy - 0.27 * s),
               (hx + f * (ex + 0.06) * s, hy - 0.05 * s)]
        d.polygon(ear, fill=fur)
        d.polygon([(x, y + 0.05 * s) if i == 1 else (x, y) for i, (x, y) in enumerate(ear)], fill=dark)
    d.ellipse((hx - 0.13 * s, hy - 0.12 * s, hx + 0.13 * s, hy + 0.12 * s), fill=fur)
    snout = (hx + f * 0.3 * s, hy + 0.06 * s)
    d.polygon([(hx + f * 0.05 * s, hy - 0.08 * s), snout, (hx + f * 0.02 * s, hy + 0.12 * s)], fill=fur)
    d.polygon([(hx + f * 0.06 * s, hy + 0.04 * s), snout, (hx + f * 0.04 * s, hy + 0.12 * s)], fill=white)
    d.ellipse((snout[0] - 0.03 * s, snout[1] - 0.03 * s, snout[0] + 0.03 * s, snout[1] + 0.03 * s), fill=dark)
    ex, ey = hx + f * 0.07 * s, hy - 0.03 * s
    d.ellipse((ex - 0.022 * s, ey - 0.022 * s, ex + 0.022 * s, ey + 0.022 * s), fill=dark)
    # Fur: short strokes along the body and tail, in 1-output-pixel lines.
    tone = [shade(fur, 0.75), shade(fur, 1.2), shade(fur, 0.9)]
    body_area = math.pi * 0.38 * 0.17 * s * s
    p.strokes_in_ellipse(cx, gy - 0.36 * s, 0.36 * s, 0.15 * s, p.count(body_area, 9), 7 * p.px, tone,
                         angle=0 if f > 0 else math.pi, spread=0.35)
    p.strokes_in_ellipse(*tail_c, 0.3 * s, 0.09 * s, p.count(body_area * 0.4, 9), 6 * p.px, tone,
                         angle=tail_a, spread=0.3)
    p.strokes_in_ellipse(hx, hy, 0.12 * s, 0.11 * s, p.count(0.045 * s * s, 9), 4 * p.px, tone,
                         angle=0 if f > 0 else math.pi)


def cat(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    fur = p.lit(colour or rng.choice([(90, 90, 95), (230, 150, 70), (40, 38, 40), (200, 190, 175)]))
    dark, light = shade(fur, 0.55), shade(fur, 1.35)
    d = p.draw
    tail = [(cx - f * (0.2 + 0.25 * t) * s, gy - 0.04 * s - 0.25 * s * t * t) for t in (0, 0.3, 0.6, 0.85, 1)]
    d.line(tail, fill=fur, width=max(1, int(0.07 * s)), joint="curve")
    d.ellipse((cx - 0.26 * s, gy - 0.62 * s, cx + 0.26 * s, gy), fill=fur)
    for dx in (-0.1, 0.1):
        d.ellipse((cx + dx * s - 0.08 * s, gy - 0.07 * s, cx + dx * s + 0.08 * s, gy + 0.01 * s), fill=light)
    hx, hy, r = cx, gy - 0.7 * s, 0.2 * s
    for sgn in (-1, 1):
        ear = [(hx + sgn * 0.19 * s, hy - 0.02 * s), (hx + sgn * 0.17 * s, hy - 0.3 * s),
               (hx + sgn * 0.03 * s, hy - 0.16 * s)]
        d.polygon(ear, fill=fur)
        d.polygon([(hx + sgn * 0.15 * s, hy - 0.06 * s), (hx + sgn * 0.155 * s, hy - 0.24 * s),
                   (hx + sgn * 0.07 * s, hy - 0.14 * s)], fill=p.lit((230, 150, 160)))
    d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=fur)
    eye = p.lit((120, 200, 80))
    for sgn in (-1, 1):
        ex, ey = hx + sgn * 0.08 * s, hy - 0.02 * s
        d.ellipse((ex - 0.04 * s, ey - 0.03 * s, ex + 0.04 * s, ey + 0.03 * s), fill=eye)
        d.ellipse((ex - 0.008 * s, ey - 0.028 * s, ex + 0.008 * s, ey + 0.028 * s), fill=(10, 10, 10))
    d.polygon([(hx - 0.025 * s, hy + 0.05 * s), (hx + 0.025 * s, hy + 0.05 * s), (hx, hy + 0.08 * s)],
              fill=p.lit((220, 120, 130)))
    # Whiskers: the classic fine detail a soft render loses.
    wcol = (*p.lit((245, 245, 240)), 220)
    for sgn in (-1, 1):
        for k in (-1, 0, 1):
            d.line((hx + sgn * 0.06 * s, hy + 0.08 * s, hx + sgn * 0.32 * s, hy + (0.05 + 0.05 * k) * s),
                   fill=wcol, width=p.stroke(1 if p.fine else 3))
    # Tabby stripes, then fur.
    if p.fine:
        for k in range(4):
            y = gy - (0.45 - 0.09 * k) * s
            d.arc((cx - 0.24 * s, y - 0.05 * s, cx + 0.24 * s, y + 0.08 * s), 200, 340, fill=dark,
                  width=p.stroke(2))
    tone = [dark, light, shade(fur, 0.8)]
    p.strokes_in_ellipse(cx, gy - 0.31 * s, 0.24 * s, 0.29 * s, p.count(0.22 * s * s, 9), 6 * p.px, tone,
                         angle=math.pi / 2, spread=0.4)
    p.strokes_in_ellipse(hx, hy, r * 0.9, r * 0.9, p.count(0.12 * s * s, 9), 4 * p.px, tone,
                         angle=-math.pi / 2, spread=0.6)


def house(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    wall = p.lit(colour or rng.choice([(230, 220, 200), (200, 110, 80), (240, 235, 225), (170, 190, 210)]))
    roof = p.lit(rng.choice([(140, 50, 45), (70, 70, 80), (110, 75, 50)]))
    d = p.draw
    x0, x1, top = cx - 0.45 * s, cx + 0.45 * s, gy - 0.55 * s
    chimney = sorted((cx + f * 0.2 * s, cx + f * 0.3 * s))
    d.rectangle((chimney[0], gy - 1.0 * s, chimney[1], gy - 0.7 * s), fill=shade(roof, 0.8))
    d.rectangle((x0, top, x1, gy), fill=wall)
    p.hatch((x0, top, x1, gy), 6, shade(wall, 0.7), alpha=70)
    peak = gy - 1.02 * s
    roof_pts = [(cx - 0.56 * s, top), (cx, peak), (cx + 0.56 * s, top)]
    d.polygon(roof_pts, fill=roof)
    if p.fine:  # shingle rows, each a 1-px line clipped to the roof
        step = max(2.0, 5 * p.px)
        y = peak + step
        while y < top:
            half = 0.56 * s * (y - peak) / (top - peak)
            d.line((cx - half, y, cx + half, y), fill=(*shade(roof, 0.65), 150), width=p.stroke(1))
            y += step
    door = (cx - f * 0.2 * s - 0.08 * s, gy - 0.32 * s, cx - f * 0.2 * s + 0.08 * s, gy)
    d.rectangle(door, fill=p.lit((90, 55, 35)))
    glass = (255, 210, 120) if p.dark else p.lit((150, 190, 225))
    for wx in (cx + f * 0.05 * s, cx + f * 0.27 * s):
        box = (wx - 0.08 * s, gy - 0.42 * s, wx + 0.08 * s, gy - 0.24 * s)
        d.rectangle(box, fill=glass, outline=p.lit((245, 245, 245)), width=max(1, int(0.015 * s)))
        if p.dark:
            p.glow("rect", box, (120, 90, 40))
        if p.fine:
            mx, my = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            d.line((mx, box[1], mx, box[3]), fill=p.lit((245, 245, 245)), width=p.stroke(1))
            d.line((box[0], my, box[2], my), fill=p.lit((245, 245, 245)), width=p.stroke(1))


def tree(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    d = p.draw
    leaf = p.lit(colour or rng.choice([(50, 130, 55), (70, 150, 60), (35, 105, 60)]))
    bark = p.lit((95, 65, 40))
    pine = rng.random() < 0.4
    d.rectangle((cx - 0.05 * s, gy - 0.45 * s, cx + 0.05 * s, gy), fill=bark)
    p.hatch((cx - 0.05 * s, gy - 0.45 * s, cx + 0.05 * s, gy), 3, shade(bark, 0.6), alpha=120,
            vertical=True)
    if pine:
        for k in range(3):
            y = gy - (0.25 + 0.23 * k) * s
            half = (0.36 - 0.08 * k) * s
            d.polygon([(cx - half, y), (cx, y - 0.45 * s), (cx + half, y)], fill=shade(leaf, 0.85 + 0.1 * k))
        area, ccx, ccy, rx, ry = 0.3 * s * s, cx, gy - 0.55 * s, 0.25 * s, 0.35 * s
    else:
        blobs = [(cx + rng.uniform(-0.2, 0.2) * s, gy - rng.uniform(0.6, 0.85) * s,
                  rng.uniform(0.17, 0.26) * s) for _ in range(5)]
        for bx, by, r in blobs:
            d.ellipse((bx - r, by - r, bx + r, by + r), fill=shade(leaf, rng.uniform(0.85, 1.15)))
        area, ccx, ccy, rx, ry = 0.35 * s * s, cx, gy - 0.72 * s, 0.33 * s, 0.25 * s
    # Leaves: tiny dots a few output pixels wide.
    rng_f, n = p.frng, p.count(area, 6)
    dot = 1.5 * p.px
    tones = [shade(leaf, 0.6), shade(leaf, 1.35), shade(leaf, 0.8)]
    for _ in range(n):
        r, t = math.sqrt(rng_f.random()), rng_f.random() * math.tau
        x, y = ccx + rx * r * math.cos(t), ccy + ry * r * math.sin(t)
        d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=rng_f.choice(tones))


def mountain_range(p: Painter, rng: random.Random, horizon: float, colour: RGB | None,
                   snow: bool = True) -> None:
    """Two ridges behind the horizon: far and pale, near and darker, snow on the high peaks."""
    w, h, d = p.w, p.h, p.draw
    base = colour or (95, 110, 140)
    for layer, (height, tone) in enumerate(((0.42, 0.85), (0.28, 0.6))):
        peaks = rng.randint(2, 4)
        xs = sorted(rng.uniform(0, 1) for _ in range(peaks))
        pts = [(-0.02 * w, horizon)]
        tops = []
        for x in xs:
            top = horizon - h * height * rng.uniform(0.55, 1.0)
            spread = rng.uniform(0.12, 0.25) * w
            pts += [(x * w - spread, horizon - (horizon - top) * 0.25), (x * w, top),
                    (x * w + spread, horizon - (horizon - top) * 0.3)]
            tops.append((x * w, top, spread))
        pts += [(1.02 * w, horizon)]
        pts.sort()
        fill = p.lit(mix(base, (200, 210, 230), 0.45 if layer == 0 else 0.0))
        fill = shade(fill, tone + 0.3 * layer)
        d.polygon(pts, fill=fill)
        for x, top, spread in tops:
            if snow and horizon - top > h * 0.18:
                drop = (horizon - top) * 0.22
                d.polygon([(x - spread * 0.28, top + drop), (x, top), (x + spread * 0.3, top + drop * 1.1),
                           (x + spread * 0.1, top + drop * 0.8), (x - spread * 0.05, top + drop * 1.05)],
                          fill=p.lit((240, 244, 250)))
            # Rock strata: short slanted lines on the slopes.
            n = p.count(spread * (horizon - top) * 0.5, 2)
            rng_f = p.frng
            for _ in range(n):
                yy = rng_f.uniform(top, horizon)
                reach = spread * (yy - top) / max(1.0, horizon - top) * 0.9
                xx = x + rng_f.uniform(-reach, reach)
                ln = 8 * p.px
                d.line((xx, yy, xx + ln * rng_f.choice((-0.7, 0.7)), yy + ln * 0.5),
                       fill=(*shade(fill, 0.7), 140), width=p.stroke(1))


def skyline(p: Painter, rng: random.Random, horizon: float, colour: RGB | None, neon: bool) -> None:
    """A row of buildings standing on the horizon, windows lit when it is dark."""
    w, h, d = p.w, p.h, p.draw
    x = -rng.uniform(0, 0.05) * w
    base = colour or (80, 90, 110)
    while x < w:
        bw = rng.uniform(0.07, 0.15) * w
        top = horizon - rng.uniform(0.12, 0.42) * h
        body = p.lit(mix(base, (60, 65, 80), rng.uniform(0.2, 0.7)))
        d.rectangle((x, top, x + bw, horizon), fill=body)
        cols, rows = max(2, int(bw / (0.018 * w))), max(3, int((horizon - top) / (0.03 * h)))
        if not p.fine:  # Pro: fewer, coarser windows
            cols, rows = max(1, cols // 2), max(2, rows // 2)
        cw, rh = bw / cols, (horizon - top) / rows
        for i in range(cols):
            for j in range(rows):
                # The detail generator: Pro has fewer windows, and the layout must not drift.
                on = p.dark and p.frng.random() < 0.55
                fill = (255, 215, 130) if on else p.lit(shade(body, 1.5))
                box = (x + (i + 0.25) * cw, top + (j + 0.3) * rh, x + (i + 0.75) * cw, top + (j + 0.8) * rh)
                d.rectangle(box, fill=fill)
                if p.fine and cw > 7 * p.px:  # window frames, only where they fit
                    mx = (box[0] + box[2]) / 2
                    d.line((mx, box[1], mx, box[3]), fill=(*shade(body, 0.7), 255), width=p.stroke(1))
        if neon and rng.random() < 0.6:
            colour_n = rng.choice([(255, 40, 190), (40, 230, 255), (120, 255, 90), (255, 120, 30)])
            sy = top + rng.uniform(0.1, 0.5) * (horizon - top)
            sign = (x + bw * 0.15, sy, x + bw * 0.85, sy + 0.025 * h)
            d.rectangle(sign, outline=colour_n, width=max(1, int(0.004 * w)))
            p.glow("rect", sign, colour_n)
        x += bw + rng.uniform(0, 0.01) * w


def car(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    body = p.lit(colour or rng.choice([(200, 40, 40), (40, 90, 180), (230, 230, 225), (250, 190, 40)]))
    d = p.draw
    glass = p.lit((150, 190, 220))
    d.rounded_rectangle((cx - 0.55 * s, gy - 0.42 * s, cx + 0.55 * s, gy - 0.12 * s), radius=0.08 * s,
                        fill=body)
    cabin = [(cx - f * 0.34 * s, gy - 0.41 * s), (cx - f * 0.22 * s, gy - 0.68 * s),
             (cx + f * 0.16 * s, gy - 0.68 * s), (cx + f * 0.32 * s, gy - 0.41 * s)]
    d.polygon(cabin, fill=body)
    d.polygon([(cx - f * 0.28 * s, gy - 0.43 * s), (cx - f * 0.19 * s, gy - 0.63 * s),
               (cx - f * 0.02 * s, gy - 0.63 * s), (cx - f * 0.02 * s, gy - 0.43 * s)], fill=glass)
    d.polygon([(cx + f * 0.02 * s, gy - 0.43 * s), (cx + f * 0.02 * s, gy - 0.63 * s),
               (cx + f * 0.14 * s, gy - 0.63 * s), (cx + f * 0.26 * s, gy - 0.43 * s)], fill=glass)
    lamp = (cx + f * 0.5 * s, gy - 0.33 * s)
    d.ellipse((lamp[0] - 0.04 * s, lamp[1] - 0.03 * s, lamp[0] + 0.04 * s, lamp[1] + 0.03 * s),
              fill=(255, 240, 190))
    if p.dark:
        p.glow("ellipse", (lamp[0] - 0.15 * s, lamp[1] - 0.1 * s, lamp[0] + 0.15 * s, lamp[1] + 0.1 * s),
               (255, 230, 160))
    for wx in (cx - 0.32 * s, cx + 0.32 * s):
        r = 0.14 * s
        d.ellipse((wx - r, gy - 0.14 * s - r, wx + r, gy - 0.14 * s + r), fill=(25, 25, 28))
        d.ellipse((wx - r * 0.5, gy - 0.14 * s - r * 0.5, wx + r * 0.5, gy - 0.14 * s + r * 0.5),
                  fill=p.lit((170, 170, 175)))
        if p.fine:  # hub spokes
            for k in range(8):
                a = k * math.tau / 8
                hub = (wx, gy - 0.14 * s)
                d.line((*hub, hub[0] + r * 0.48 * math.cos(a), hub[1] + r * 0.48 * math.sin(a)),
                       fill=p.lit((90, 90, 95)), width=p.stroke(1))
    if p.fine:  # door seam and chrome strip
        d.line((cx, gy - 0.41 * s, cx, gy - 0.16 * s), fill=shade(body, 0.6), width=p.stroke(1))
        d.line((cx - 0.5 * s, gy - 0.28 * s, cx + 0.5 * s, gy - 0.28 * s), fill=p.lit((235, 235, 240)),
               width=p.stroke(1))


def boat(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    d = p.draw
    hull = p.lit(colour or rng.choice([(170, 50, 40), (40, 60, 110), (240, 240, 235), (110, 70, 40)]))
    sail = p.lit((248, 245, 235))
    top = gy - 1.0 * s
    d.polygon([(cx - 0.5 * s, gy - 0.18 * s), (cx + 0.5 * s, gy - 0.18 * s),
               (cx + f * 0.38 * s, gy + 0.02 * s), (cx - f * 0.36 * s, gy + 0.02 * s)], fill=hull)
    d.line((cx, gy - 0.18 * s, cx, top), fill=p.lit((80, 60, 40)), width=max(1, int(0.02 * s)))
    d.polygon([(cx + f * 0.02 * s, top + 0.04 * s), (cx + f * 0.02 * s, gy - 0.26 * s),
               (cx + f * 0.44 * s, gy - 0.26 * s)], fill=sail)
    d.polygon([(cx - f * 0.02 * s, top + 0.1 * s), (cx - f * 0.02 * s, gy - 0.26 * s),
               (cx - f * 0.34 * s, gy - 0.26 * s)], fill=shade(sail, 0.92))
    if p.fine:
        rig = (*p.lit((60, 50, 40)), 200)
        for end in (cx - 0.48 * s, cx + 0.48 * s):
            d.line((cx, top, end, gy - 0.18 * s), fill=rig, width=p.stroke(1))
        y = gy - 0.15 * s
        while y < gy:
            d.line((cx - 0.45 * s, y, cx + 0.45 * s, y), fill=(*shade(hull, 0.7), 160), width=p.stroke(1))
            y += max(2.0, 4 * p.px)
        p.hatch((cx + f * 0.03 * s if f > 0 else cx - 0.44 * s, gy - 0.6 * s,
                 cx + 0.44 * s if f > 0 else cx - 0.03 * s, gy - 0.27 * s), 9, (200, 195, 185), alpha=50)
    # Reflection on the water below.
    d.polygon([(cx - 0.36 * s, gy + 0.03 * s), (cx + 0.38 * s, gy + 0.03 * s), (cx + 0.2 * s, gy + 0.22 * s),
               (cx - 0.2 * s, gy + 0.22 * s)], fill=(*shade(hull, 0.7), 90))


def person(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int,
           colour: RGB | None) -> None:
    d = p.draw
    skin = p.lit(rng.choice([(240, 200, 170), (200, 150, 110), (140, 95, 65), (225, 180, 140)]))
    hair = p.lit(rng.choice([(40, 30, 25), (120, 70, 35), (200, 160, 90), (20, 20, 25), (150, 40, 30)]))
    cloth = p.lit(colour or rng.choice([(60, 80, 140), (150, 40, 50), (60, 110, 80), (230, 230, 225)]))
    d.ellipse((cx - 0.5 * s, gy - 0.32 * s, cx + 0.5 * s, gy + 0.3 * s), fill=cloth)
    d.rectangle((cx - 0.08 * s, gy - 0.5 * s, cx + 0.08 * s, gy - 0.28 * s), fill=shade(skin, 0.9))
    hx, hy = cx, gy - 0.65 * s
    d.ellipse((hx - 0.25 * s, hy - 0.3 * s, hx + 0.25 * s, hy + 0.15 * s), fill=hair)
    d.ellipse((hx - 0.18 * s, hy - 0.22 * s, hx + 0.18 * s, hy + 0.24 * s), fill=skin)
    d.chord((hx - 0.2 * s, hy - 0.3 * s, hx + 0.2 * s, hy + 0.02 * s), 180, 360, fill=hair)
    for sgn in (-1, 1):
        ex, ey = hx + sgn * 0.075 * s, hy - 0.01 * s
        d.ellipse((ex - 0.04 * s, ey - 0.022 * s, ex + 0.04 * s, ey + 0.022 * s), fill=p.lit((250, 250, 250)))
        d.ellipse((ex - 0.018 * s, ey - 0.018 * s, ex + 0.018 * s, ey + 0.018 * s), fill=(35, 30, 30))
        d.line((ex - 0.05 * s, ey - 0.05 * s, ex + 0.04 * s, ey - 0.055 * s), fill=shade(hair, 0.8),
               width=max(1, int(0.012 * s)))
    d.line((hx, hy + 0.01 * s, hx + f * 0.02 * s, hy + 0.08 * s), fill=shade(skin, 0.75),
           width=max(1, int(0.008 * s)))
    d.arc((hx - 0.06 * s, hy + 0.06 * s, hx + 0.06 * s, hy + 0.15 * s), 20, 160, fill=p.lit((170, 80, 80)),
          width=max(1, int(0.012 * s)))
    # Hair strands and the weave of the cloth: 1-output-pixel lines.
    rng_f, n = p.frng, p.count(0.12 * s * s, 5)
    tones = [shade(hair, 0.6), shade(hair, 1.4)]
    for _ in range(n):
        a = rng_f.uniform(math.pi, math.tau)
        r0 = rng_f.uniform(0.1, 0.24) * s
        x0, y0 = hx + r0 * math.cos(a), hy - 0.05 * s + r0 * math.sin(a) * 1.1
        d.line((x0, y0, x0 + 0.04 * s * math.cos(a + 1.4), y0 + 0.04 * s * math.sin(a + 1.4)),
               fill=rng_f.choice(tones), width=p.stroke(1))
    p.hatch((cx - 0.42 * s, gy - 0.25 * s, cx + 0.42 * s, gy + 0.3 * s), 4, shade(cloth, 0.7), alpha=80)


def lighthouse(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int,
               colour: RGB | None) -> None:
    d = p.draw
    white, band = p.lit((245, 242, 235)), p.lit(colour or (200, 40, 40))
    top = gy - 0.78 * s

    def half(y: float) -> float:
        return 0.07 * s + 0.06 * s * (y - top) / (gy - top)

    d.polygon([(cx - half(gy), gy), (cx - half(top), top), (cx + half(top), top), (cx + half(gy), gy)],
              fill=white)
    for k in range(3):
        y0 = top + (gy - top) * (0.18 + 0.28 * k)
        y1 = y0 + (gy - top) * 0.13
        d.polygon([(cx - half(y1), y1), (cx - half(y0), y0), (cx + half(y0), y0), (cx + half(y1), y1)],
                  fill=band)
    if p.fine:  # masonry courses
        step = max(2.0, 4 * p.px)
        y = top + step
        while y < gy:
            d.line((cx - half(y), y, cx + half(y), y), fill=(*shade(white, 0.75), 110), width=p.stroke(1))
            y += step
    d.rectangle((cx - 0.11 * s, top - 0.02 * s, cx + 0.11 * s, top + 0.01 * s), fill=p.lit((50, 50, 55)))
    lamp = (cx - 0.055 * s, top - 0.13 * s, cx + 0.055 * s, top - 0.02 * s)
    d.rectangle(lamp, fill=(255, 235, 150))
    d.polygon([(cx - 0.08 * s, top - 0.13 * s), (cx, top - 0.22 * s), (cx + 0.08 * s, top - 0.13 * s)],
              fill=band)
    if p.gain[0] < 0.95:  # the beam shows once the light is low
        ly = top - 0.075 * s
        d.polygon([(cx, ly - 0.02 * s), (cx + f * 1.4 * s, ly - 0.2 * s), (cx + f * 1.4 * s, ly + 0.12 * s),
                   (cx, ly + 0.02 * s)], fill=(255, 240, 180, 70))
        p.glow("ellipse", (cx - 0.2 * s, ly - 0.2 * s, cx + 0.2 * s, ly + 0.2 * s), (255, 220, 140))


def mug(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, colour: RGB | None) -> None:
    d = p.draw
    glaze = p.lit(colour or (240, 238, 232))
    rim_h = 0.07 * s
    d.ellipse((cx + f * 0.17 * s, gy - 0.46 * s, cx + f * 0.17 * s + f * 0.22 * s, gy - 0.16 * s)
              if f > 0 else (cx - 0.39 * s, gy - 0.46 * s, cx - 0.17 * s, gy - 0.16 * s),
              outline=glaze, width=max(1, int(0.055 * s)))
    d.rectangle((cx - 0.25 * s, gy - 0.58 * s, cx + 0.25 * s, gy - rim_h / 2), fill=glaze)
    d.ellipse((cx - 0.25 * s, gy - rim_h, cx + 0.25 * s, gy), fill=glaze)
    d.rectangle((cx + 0.12 * s, gy - 0.55 * s, cx + 0.2 * s, gy - 0.05 * s), fill=(*shade(glaze, 0.8), 120))
    d.ellipse((cx - 0.25 * s, gy - 0.58 * s - rim_h / 2, cx + 0.25 * s, gy - 0.58 * s + rim_h / 2),
              fill=shade(glaze, 1.1))
    d.ellipse((cx - 0.22 * s, gy - 0.58 * s - rim_h / 2.6, cx + 0.22 * s, gy - 0.58 * s + rim_h / 2.6),
              fill=p.lit((85, 50, 30)))
    for k in (-1, 0, 1):
        x = cx + k * 0.09 * s
        pts = [(x + 0.03 * s * math.sin(t * 2.2 + k), gy - 0.65 * s - 0.3 * s * t)
               for t in (0, 0.25, 0.5, 0.75, 1)]
        d.line(pts, fill=(255, 255, 255, 70), width=max(1, int(0.02 * s)), joint="curve")
    if p.fine:  # glaze speckles and a rim highlight
        rng_f = p.frng
        for _ in range(p.count(0.26 * s * s, 4)):
            x, y = rng_f.uniform(cx - 0.24 * s, cx + 0.24 * s), rng_f.uniform(gy - 0.56 * s, gy - 0.04 * s)
            r = p.px
            d.ellipse((x - r, y - r, x + r, y + r), fill=shade(glaze, rng_f.choice((0.7, 1.2))))
        d.arc((cx - 0.25 * s, gy - 0.58 * s - rim_h / 2, cx + 0.25 * s, gy - 0.58 * s + rim_h / 2), 160, 380,
              fill=(255, 255, 255), width=p.stroke(1))


#: Motifs that stand on the ground; ``mountain`` and ``city`` are backdrops drawn by the renderer.
MOTIFS: dict[str, Motif] = {
    "fox": fox, "cat": cat, "house": house, "tree": tree, "car": car, "boat": boat,
    "person": person, "lighthouse": lighthouse, "mug": mug,
}
