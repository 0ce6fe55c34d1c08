"""Interiors: a reading nook by a window, a library, a kitchen shelf of potted herbs.

Each draws the whole room (wall, floor, furniture) under the room's light, and a
window onto the scene's own light: a night sky with stars, a day sky, or rain
running down the glass (rain stays outside: it is drawn on the window only).
Fine detail (grout, planks, spine bands, needles) comes from the painter's own
generator, sized in output pixels (see ``_paint``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ._objects import mug
from ._paint import RGB, Painter, Pose, shade
from ._scene import Scene

__all__ = ["ROOMS", "window"]

_BOOKS: list[RGB] = [(150, 35, 40), (40, 80, 60), (35, 50, 110), (120, 80, 45), (190, 150, 60),
                     (90, 30, 60), (60, 100, 130), (200, 190, 165), (170, 90, 40), (30, 30, 35)]


def window(p: Painter, scene: Scene, box: tuple[float, float, float, float], frame: RGB,
           arch: bool = False) -> None:
    """The view through a window (the scene's own light, not the room's), its frame and sill."""
    d, light = p.draw, scene.light
    x0, y0, x1, y1 = box
    if scene.rain:
        dim = 0.45 if p.dark else 1.0
        stops = [shade((112, 122, 138), dim), shade((150, 158, 172), dim)]
    else:
        stops = [light.sky_top, light.sky_low]
    p.vgradient((int(x0), int(y0), int(x1) + 1, int(y1) + 1), stops)
    if arch:  # round top: the view fills a semicircle over the box
        d.pieslice((x0, y0 - (x1 - x0) / 2, x1, y0 + (x1 - x0) / 2), 180, 360, fill=stops[0])
    ww, wh = x1 - x0, y1 - y0
    rng_f = p.frng
    if light.stars and not scene.rain:
        d.ellipse((x0 + 0.62 * ww, y0 + 0.12 * wh, x0 + 0.76 * ww, y0 + 0.12 * wh + 0.14 * ww),
                  fill=(240, 238, 215))
        for _ in range(p.count(ww * wh, 0.5) or 12):
            x, y = rng_f.uniform(x0, x1), rng_f.uniform(y0, y0 + 0.6 * wh)
            dot = max(0.5, p.px * 0.8)
            d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(235, 235, 250))
    # Rooftops and trees outside, darker than the sky.
    far = shade(stops[-1], 0.6)
    x = x0
    while x < x1:
        bw = ww * 0.18
        top = y0 + wh * (0.62 + 0.12 * math.sin(x * 0.05))
        d.rectangle((x, top, min(x1, x + bw), y1), fill=far)
        if p.dark:
            d.rectangle((x + bw * 0.3, top + wh * 0.06, x + bw * 0.45, top + wh * 0.11), fill=(230, 190, 110))
        x += bw * 1.15
    if scene.rain:
        # Streaks running down the glass and drops on it: Pro fewer, coarser.
        n = p.count(ww * wh, 0.9) or 60
        for _ in range(n):
            x, y = rng_f.uniform(x0, x1), rng_f.uniform(y0, y1)
            ln = rng_f.uniform(0.03, 0.09) * wh
            d.line((x, y, x + 0.05 * ln, min(y1, y + ln)), fill=(215, 225, 238, 170), width=p.stroke(1.5))
        for _ in range(n // 3):
            x, y = rng_f.uniform(x0, x1), rng_f.uniform(y0, y1)
            r = rng_f.uniform(1.5, 3.5) * p.px
            d.ellipse((x - r, y - r, x + r, y + r), outline=(220, 228, 240, 190), width=p.stroke(1))
    bar = max(2, int(0.012 * p.u))
    if arch:
        d.arc((x0, y0 - ww / 2, x1, y0 + ww / 2), 180, 360, fill=frame, width=bar)
        d.line((x0, y0, x0, y1), fill=frame, width=bar)
        d.line((x1, y0, x1, y1), fill=frame, width=bar)
    else:
        d.rectangle((x0, y0, x1, y1), outline=frame, width=bar)
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    d.line((mx, y0 - (ww / 2 if arch else 0), mx, y1), fill=frame, width=bar)
    d.line((x0, my, x1, my), fill=frame, width=bar)
    d.rectangle((x0 - 0.02 * ww, y1, x1 + 0.02 * ww, y1 + 0.035 * wh), fill=shade(frame, 1.1))


def _wall_and_floor(p: Painter, wall: RGB, floor_y: float) -> RGB:
    d = p.draw
    wall = p.lit(wall)
    p.vgradient((0, 0, p.w, int(floor_y) + 1), [shade(wall, 0.88), wall, shade(wall, 1.04)])
    wood = p.lit((130, 88, 55))
    p.vgradient((0, int(floor_y), p.w, p.h), [shade(wood, 0.9), wood, shade(wood, 0.75)])
    d.rectangle((0, floor_y - 0.012 * p.h, p.w, floor_y), fill=shade(wall, 0.7))
    p.hatch((0, floor_y + 2, p.w, p.h), 9, shade(wood, 0.65), alpha=90)
    return wall


def nook(p: Painter, rng: random.Random, scene: Scene) -> None:
    """A window seat under a big window, cushions, books, curtains, a floor lamp."""
    w, h, d = p.w, p.h, p.draw
    floor_y = h * rng.uniform(0.8, 0.86)
    # Warm walls and fabrics: cosy, and nothing in the room as cool as the grey light outside.
    _wall_and_floor(p, rng.choice([(214, 196, 168), (190, 196, 165), (222, 206, 180), (205, 170, 150)]),
                    floor_y)
    cx = w * rng.uniform(0.42, 0.58)
    half = w * rng.uniform(0.2, 0.25)
    x0, x1, y0, y1 = cx - half, cx + half, h * rng.uniform(0.08, 0.14), h * 0.56
    window(p, scene, (x0, y0, x1, y1), p.lit((240, 236, 226)))
    fabrics = [(160, 60, 55), (95, 110, 70), (150, 95, 60)]
    fabric = p.lit(scene.colours[0] if scene.colours else rng.choice(fabrics))
    d.line((x0 - 0.08 * w, y0 - 0.03 * h, x1 + 0.08 * w, y0 - 0.03 * h), fill=p.lit((80, 60, 45)),
           width=max(2, int(0.008 * h)))
    for sgn in (-1, 1):  # curtains drawn back to each side
        edge = x0 if sgn < 0 else x1
        outer = edge + sgn * 0.09 * w
        d.polygon([(outer, y0 - 0.03 * h), (edge - sgn * 0.015 * w, y0 - 0.03 * h), (edge + sgn * 0.01 * w,
                                                                                     y1),
                   (edge - sgn * 0.01 * w, y1 + 0.12 * h), (outer, y1 + 0.12 * h)], fill=fabric)
        for k in range(3):
            fx = outer - sgn * (0.02 + 0.025 * k) * w
            d.line((fx, y0 - 0.02 * h, fx, y1 + 0.11 * h), fill=shade(fabric, 0.8),
                   width=max(1, int(0.004 * w)))
    # The seat: a box under the window, a long cushion, pillows, books.
    seat_top = y1 + 0.1 * h
    d.rectangle((x0 - 0.06 * w, seat_top, x1 + 0.06 * w, floor_y), fill=p.lit((225, 220, 210)))
    p.hatch((x0 - 0.06 * w, seat_top + 0.05 * h, x1 + 0.06 * w, floor_y), 8, p.lit((150, 145, 135)), alpha=80,
            vertical=True)
    cushion = p.lit(rng.choice([(235, 215, 170), (225, 205, 160), (215, 180, 170)]))
    d.rounded_rectangle((x0 - 0.05 * w, seat_top - 0.05 * h, x1 + 0.05 * w, seat_top + 0.01 * h),
                        radius=0.02 * h, fill=cushion)
    for px_, tilt in ((x0 + 0.02 * w, -1), (x1 - 0.02 * w, 1)):
        pillow = p.lit(rng.choice([(190, 90, 70), (120, 140, 90), (220, 190, 90)]))
        d.rounded_rectangle((px_ - 0.06 * w, seat_top - 0.16 * h, px_ + 0.06 * w, seat_top - 0.04 * h),
                            radius=0.03 * h, fill=pillow)
        d.line((px_ - 0.04 * w * tilt, seat_top - 0.15 * h, px_ + 0.04 * w * tilt, seat_top - 0.05 * h),
               fill=shade(pillow, 0.8), width=max(1, int(0.004 * w)))
    bx = cx + rng.uniform(-0.1, 0.1) * w
    y = seat_top - 0.05 * h
    for _ in range(rng.randint(3, 4)):  # a stack of books on the cushion
        bw, bh = rng.uniform(0.09, 0.12) * w, rng.uniform(0.018, 0.028) * h
        shift = rng.uniform(-0.01, 0.01) * w
        c = p.lit(rng.choice(_BOOKS))
        d.rectangle((bx - bw / 2 + shift, y - bh, bx + bw / 2 + shift, y), fill=c)
        d.line((bx - bw / 2 + shift + 0.004 * w, y - bh / 2, bx + bw / 2 + shift, y - bh / 2),
               fill=p.lit((240, 235, 220)), width=max(1, int(0.003 * h)))
        y -= bh
    mug(p, rng, Pose(x0 + 0.25 * (x1 - x0), y1, 0.07 * h, 1, None))
    # A floor lamp beside the seat: warm glow when the lamp is on.
    side = rng.choice((-1, 1))
    lx = (x0 - 0.16 * w) if side < 0 else (x1 + 0.16 * w)
    lx = min(max(lx, 0.06 * w), 0.94 * w)
    pole = p.lit((50, 45, 40))
    d.line((lx, floor_y, lx, h * 0.3), fill=pole, width=max(2, int(0.006 * w)))
    d.ellipse((lx - 0.04 * w, floor_y - 0.01 * h, lx + 0.04 * w, floor_y + 0.01 * h), fill=pole)
    lamp_on = p.dark or scene.rain or "lamp" in scene.traits
    shade_c = (255, 225, 160) if lamp_on else p.lit((235, 225, 200))
    d.polygon([(lx - 0.035 * w, h * 0.2), (lx + 0.035 * w, h * 0.2), (lx + 0.06 * w, h * 0.3),
               (lx - 0.06 * w, h * 0.3)], fill=shade_c)
    if lamp_on:  # a pool of warm light round the shade, kept off the window
        p.glow("ellipse", (lx - 0.1 * w, h * 0.14, lx + 0.1 * w, h * 0.42), (150, 110, 50))
    # A picture frame on the wall on the other side.
    fx = (x1 + 0.16 * w) if side < 0 else (x0 - 0.16 * w)
    if 0.08 * w < fx < 0.92 * w:
        d.rectangle((fx - 0.05 * w, 0.2 * h, fx + 0.05 * w, 0.32 * h), fill=p.lit((90, 65, 40)))
        d.rectangle((fx - 0.04 * w, 0.21 * h, fx + 0.04 * w, 0.31 * h), fill=p.lit((150, 175, 160)))


def library(p: Painter, rng: random.Random, scene: Scene) -> None:
    """Bookcases full of books either side of a tall arched window, a reading table
    with a green lamp in front."""
    w, h, d = p.w, p.h, p.draw
    floor_y = h * rng.uniform(0.84, 0.88)
    _wall_and_floor(p, (120, 85, 60), floor_y)
    cx = w * rng.uniform(0.45, 0.55)
    half = w * 0.11
    wx0, wx1 = cx - half, cx + half
    window(p, scene, (wx0, h * 0.22, wx1, h * 0.6), p.lit((70, 50, 35)), arch=True)
    case = p.lit((85, 55, 35))
    for left, right in ((0.0, wx0 - 0.03 * w), (wx1 + 0.03 * w, float(w))):
        d.rectangle((left, 0.04 * h, right, floor_y), fill=shade(case, 0.6))
        shelves = 6
        top, bottom = 0.06 * h, floor_y - 0.02 * h
        step = (bottom - top) / shelves
        for k in range(shelves):
            sy = top + step * (k + 1)
            x = left + 0.01 * w
            while x < right - 0.02 * w:
                bw = rng.uniform(0.012, 0.026) * w
                bh = step * rng.uniform(0.62, 0.9)
                c = p.lit(rng.choice(_BOOKS))
                d.rectangle((x, sy - bh, min(x + bw, right - 0.01 * w), sy), fill=c)
                if p.fine:  # gilt bands on the spines
                    for band in (0.15, 0.8):
                        yb = sy - bh * band
                        d.line((x + 1, yb, x + bw - 1, yb), fill=p.lit((220, 180, 80)), width=p.stroke(1))
                x += bw + rng.uniform(0.0, 0.003) * w
            d.rectangle((left, sy, right, sy + 0.012 * h), fill=case)
    # Reading table, an open book and a banker's lamp.
    ty = h * rng.uniform(0.72, 0.76)
    table = p.lit((100, 62, 38))
    d.rectangle((cx - 0.3 * w, ty, cx + 0.3 * w, ty + 0.03 * h), fill=table)
    for sgn in (-1, 1):
        d.rectangle((cx + sgn * 0.27 * w - 0.01 * w, ty, cx + sgn * 0.27 * w + 0.01 * w, h),
                    fill=shade(table, 0.8))
    page = p.lit((245, 240, 225))
    d.polygon([(cx - 0.1 * w, ty - 0.005 * h), (cx, ty - 0.02 * h), (cx, ty), (cx - 0.1 * w, ty + 0.004 * h)],
              fill=page)
    d.polygon([(cx + 0.1 * w, ty - 0.005 * h), (cx, ty - 0.02 * h), (cx, ty), (cx + 0.1 * w, ty + 0.004 * h)],
              fill=shade(page, 0.95))
    lx = cx + rng.choice((-1, 1)) * 0.2 * w
    d.rectangle((lx - 0.005 * w, ty - 0.08 * h, lx + 0.005 * w, ty), fill=p.lit((190, 160, 70)))
    d.chord((lx - 0.06 * w, ty - 0.12 * h, lx + 0.06 * w, ty - 0.05 * h), 180, 360, fill=p.lit((30, 110, 60)))
    p.glow("ellipse", (lx - 0.15 * w, ty - 0.12 * h, lx + 0.15 * w, ty + 0.05 * h), (150, 120, 60))


def kitchen_shelf(p: Painter, rng: random.Random, scene: Scene) -> None:
    """A tiled wall, a wooden shelf on brackets with herbs in terracotta pots and a jar,
    sunlight falling across it when the prompt says so."""
    w, h, d = p.w, p.h, p.draw
    tile = p.lit(rng.choice([(238, 236, 228), (215, 228, 222), (230, 222, 205)]))
    p.vgradient((0, 0, p.w, p.h), [shade(tile, 0.9), tile, shade(tile, 0.95)])
    p.hatch((0, 0, w, h), 22, shade(tile, 0.75), alpha=120)
    p.hatch((0, 0, w, h), 44, shade(tile, 0.75), alpha=120, vertical=True)
    if scene.light.sun is not None and scene.light.name != "storm":  # a patch of sun across the wall
        sx = w * rng.uniform(0.1, 0.4)
        d.polygon([(sx, 0), (sx + 0.35 * w, 0), (sx + 0.6 * w, h), (sx + 0.25 * w, h)],
                  fill=(255, 245, 210, 60))
    shelf_y = h * rng.uniform(0.55, 0.62)
    wood = p.lit((150, 100, 60))
    d.rectangle((0.05 * w, shelf_y, 0.95 * w, shelf_y + 0.035 * h), fill=wood)
    for bx in (0.15 * w, 0.85 * w):
        d.polygon([(bx - 0.01 * w, shelf_y + 0.035 * h), (bx + 0.01 * w, shelf_y + 0.035 * h),
                   (bx + 0.01 * w, shelf_y + 0.12 * h)], fill=shade(wood, 0.7))
    d.rectangle((0, h * 0.88, w, h), fill=p.lit((90, 80, 75)))
    d.rectangle((0, h * 0.88, w, h * 0.9), fill=p.lit((200, 195, 185)))
    pots = rng.randint(3, 4)
    kinds = ["basil", "rosemary", "chives", "parsley"]
    rng.shuffle(kinds)
    clay = p.lit((192, 98, 62))
    green = [p.lit((60, 140, 60)), p.lit((85, 160, 70)), p.lit((45, 110, 55))]
    for k in range(pots):
        x = w * (0.14 + 0.72 * (k + 0.5) / pots) + rng.uniform(-0.02, 0.02) * w
        pw, ph = 0.075 * w, 0.11 * h
        top = shelf_y - ph
        d.polygon([(x - pw, top + 0.02 * h), (x + pw, top + 0.02 * h), (x + 0.75 * pw, shelf_y),
                   (x - 0.75 * pw, shelf_y)], fill=clay)
        d.rectangle((x - 1.08 * pw, top, x + 1.08 * pw, top + 0.025 * h), fill=shade(clay, 1.1))
        _herb(p, rng, kinds[k % 4], x, top, pw, green)
    if pots == 3:  # a jar of something on the end
        jx = w * 0.86
        d.rounded_rectangle((jx - 0.035 * w, shelf_y - 0.12 * h, jx + 0.035 * w, shelf_y), radius=0.01 * w,
                            fill=(*p.lit((210, 225, 230)), 200))
        d.rectangle((jx - 0.03 * w, shelf_y - 0.13 * h, jx + 0.03 * w, shelf_y - 0.115 * h),
                    fill=p.lit((160, 60, 50)))


def _herb(p: Painter, rng: random.Random, kind: str, x: float, top: float, pw: float,
          green: list[RGB]) -> None:
    d, h = p.draw, p.h
    if kind in ("basil", "parsley"):
        r = (0.028 if kind == "basil" else 0.018) * h
        for _ in range(14 if kind == "basil" else 22):
            lx, ly = x + rng.uniform(-1.1, 1.1) * pw, top - rng.uniform(0.0, 0.14) * h
            d.ellipse((lx - r, ly - r * 0.7, lx + r, ly + r * 0.7), fill=rng.choice(green))
    else:
        for _ in range(16):
            bx = x + rng.uniform(-0.8, 0.8) * pw
            tip = (bx + rng.uniform(-0.4, 0.4) * pw, top - rng.uniform(0.1, 0.18) * h)
            d.line((bx, top + 0.01 * h, *tip), fill=rng.choice(green), width=max(1, int(0.006 * h)))
            if kind == "rosemary" and p.fine:  # needles along the stem
                for t in (0.3, 0.5, 0.7, 0.9):
                    nx, ny = bx + (tip[0] - bx) * t, top + (tip[1] - top) * t
                    for sgn in (-1, 1):
                        d.line((nx, ny, nx + sgn * 4 * p.px, ny - 3 * p.px), fill=green[2], width=p.stroke(1))


#: Rooms draw the whole picture: subject word -> drawing.
ROOMS: dict[str, Callable[[Painter, random.Random, Scene], None]] = {
    "nook": nook, "library": library, "shelf": kitchen_shelf,
}
