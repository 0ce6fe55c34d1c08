"""Places: buildings that stand on the ground (a house or a shop, a tree, a lighthouse,
a food stall, a cactus) and the backdrops a scene is built on (mountains, mesas, a
skyline, a far shore's houses, a cliff, rocks, a road, a pier).

Motifs take a ``Pose``; backdrops take the horizon and draw across the canvas.
Shapes come from the layout generator, fine detail (shingles, masonry, strata,
window frames, planks) from the painter's own (see ``_paint``).
"""

from __future__ import annotations

import itertools
import math
import random

from ._paint import RGB, Painter, Pose, ellipse_points, mix, shade, sorted_box

__all__ = ["house", "tree", "lighthouse", "stall", "cactus", "mountain_range", "mesas", "skyline",
           "far_shore", "cliff", "rocks", "road", "pier", "LIGHTHOUSE_REACH"]

#: How far above its ground a lighthouse reaches, finial included, in units of its size.
LIGHTHOUSE_REACH = 1.02


def house(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A cottage; ``shop`` (a bakery): a display window of loaves under a striped awning."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    walls = [(230, 220, 200), (200, 110, 80), (240, 235, 225), (170, 190, 210)]
    wall = p.lit(pose.colour or rng.choice(walls))
    roof = p.lit(rng.choice([(140, 50, 45), (70, 70, 80), (110, 75, 50)]))
    d = p.draw
    x0, x1, top = cx - 0.45 * s, cx + 0.45 * s, gy - 0.55 * s
    chimney = sorted((cx + f * 0.2 * s, cx + f * 0.3 * s))
    d.rectangle((chimney[0], gy - 1.0 * s, chimney[1], gy - 0.7 * s), fill=shade(roof, 0.8))
    d.rectangle((x0, top, x1, gy), fill=wall)
    p.hatch((x0, top, x1, gy), 6, shade(wall, 0.7), alpha=70)
    peak = gy - 1.02 * s
    d.polygon([(cx - 0.56 * s, top), (cx, peak), (cx + 0.56 * s, top)], fill=roof)
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
    if "shop" in pose.traits:
        _shop_front(p, rng, cx, gy, s, f, glass)
        return
    for wx in (cx + f * 0.05 * s, cx + f * 0.27 * s):
        box = (wx - 0.08 * s, gy - 0.42 * s, wx + 0.08 * s, gy - 0.24 * s)
        d.rectangle(box, fill=glass, outline=p.lit((245, 245, 245)), width=max(1, int(0.015 * s)))
        if p.dark:
            p.glow("rect", box, (120, 90, 40))
        if p.fine:
            mx, my = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            d.line((mx, box[1], mx, box[3]), fill=p.lit((245, 245, 245)), width=p.stroke(1))
            d.line((box[0], my, box[2], my), fill=p.lit((245, 245, 245)), width=p.stroke(1))


def _shop_front(p: Painter, rng: random.Random, cx: float, gy: float, s: float, f: int, glass: RGB) -> None:
    d = p.draw
    wx0, wx1 = sorted((cx - f * 0.06 * s, cx + f * 0.41 * s))
    win = (wx0, gy - 0.36 * s, wx1, gy - 0.06 * s)
    d.rectangle(win, fill=mix(glass, (255, 230, 180), 0.4), outline=p.lit((120, 80, 50)),
                width=max(1, int(0.015 * s)))
    if p.dark:
        p.glow("rect", win, (140, 100, 50))
    crust, score = p.lit((196, 130, 60)), p.lit((235, 200, 140))
    for k in range(4):  # loaves on the shelf behind the glass
        lx = wx0 + (wx1 - wx0) * (0.16 + 0.23 * k)
        ly = gy - 0.12 * s - (0.12 * s if k % 2 else 0)
        d.ellipse((lx - 0.045 * s, ly - 0.03 * s, lx + 0.045 * s, ly + 0.02 * s), fill=crust)
        for j in (-1, 0, 1):
            d.line((lx + j * 0.018 * s - 0.008 * s, ly - 0.015 * s, lx + j * 0.018 * s + 0.008 * s,
                    ly + 0.008 * s), fill=score, width=max(1, int(0.006 * s)))
    # Striped awning with a scalloped edge, the sign above it.
    a0, a1, ay = cx - 0.47 * s, cx + 0.47 * s, gy - 0.45 * s
    stripes, red, cream = 8, p.lit((200, 40, 40)), p.lit((245, 235, 215))
    for k in range(stripes):
        xa, xb = a0 + (a1 - a0) * k / stripes, a0 + (a1 - a0) * (k + 1) / stripes
        c = red if k % 2 == 0 else cream
        d.polygon([(xa + 0.02 * s, ay - 0.06 * s), (xb + 0.02 * s, ay - 0.06 * s), (xb, ay + 0.03 * s),
                   (xa, ay + 0.03 * s)], fill=c)
        d.chord((xa, ay, xb, ay + 0.06 * s), 0, 180, fill=c)
    d.rectangle((cx - 0.3 * s, gy - 0.55 * s, cx + 0.3 * s, gy - 0.515 * s), fill=p.lit((70, 45, 30)))
    d.ellipse((cx - 0.06 * s, gy - 0.545 * s, cx + 0.06 * s, gy - 0.52 * s), fill=crust)


def tree(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A round tree or a pine; ``autumn``: orange, red and yellow leaves."""
    cx, gy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    autumn = "autumn" in pose.traits
    leaves = [(210, 110, 35), (190, 60, 35), (225, 170, 50)] if autumn else \
        [(50, 130, 55), (70, 150, 60), (35, 105, 60)]
    leaf = p.lit(pose.colour or rng.choice(leaves))
    bark = p.lit((95, 65, 40))
    pine = not autumn and rng.random() < 0.4
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
            tone = p.lit(rng.choice(leaves)) if autumn else shade(leaf, rng.uniform(0.85, 1.15))
            d.ellipse((bx - r, by - r, bx + r, by + r), fill=tone)
        area, ccx, ccy, rx, ry = 0.35 * s * s, cx, gy - 0.72 * s, 0.33 * s, 0.25 * s
    # Leaves: tiny dots a few output pixels wide.
    rng_f, n = p.frng, p.count(area, 6)
    dot = 1.5 * p.px
    tones = [shade(leaf, 0.6), shade(leaf, 1.35), shade(leaf, 0.8)]
    for _ in range(n):
        r, t = math.sqrt(rng_f.random()), rng_f.random() * math.tau
        x, y = ccx + rx * r * math.cos(t), ccy + ry * r * math.sin(t)
        d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=rng_f.choice(tones))


def lighthouse(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A banded tower narrowing upwards, a gallery, a lit lantern room and a domed roof;
    its beam shows once the light is low. Reaches ``LIGHTHOUSE_REACH`` sizes up."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    d = p.draw
    white, band = p.lit((245, 242, 235)), p.lit(pose.colour or (200, 40, 40))
    top = gy - 0.74 * s

    def half(y: float) -> float:
        return 0.075 * s + 0.065 * s * (y - top) / (gy - top)

    d.polygon([(cx - half(gy), gy), (cx - half(top), top), (cx + half(top), top), (cx + half(gy), gy)],
              fill=white)
    for k in range(3):
        y0 = top + (gy - top) * (0.12 + 0.3 * k)
        y1 = y0 + (gy - top) * 0.14
        d.polygon([(cx - half(y1), y1), (cx - half(y0), y0), (cx + half(y0), y0), (cx + half(y1), y1)],
                  fill=band)
    if p.fine:  # masonry courses
        step = max(2.0, 4 * p.px)
        y = top + step
        while y < gy:
            d.line((cx - half(y), y, cx + half(y), y), fill=(*shade(white, 0.75), 110), width=p.stroke(1))
            y += step
    dark = p.lit((45, 45, 52))
    d.rectangle((cx - 0.035 * s, gy - 0.1 * s, cx + 0.035 * s, gy), fill=dark)  # door
    for share in (0.3, 0.6):  # small windows up the tower
        wy = top + (gy - top) * share
        d.rectangle((cx - 0.015 * s, wy - 0.025 * s, cx + 0.015 * s, wy + 0.025 * s), fill=dark)
    # Gallery: a deck and a railing round the lantern room.
    d.rectangle((cx - 0.12 * s, top - 0.015 * s, cx + 0.12 * s, top + 0.015 * s), fill=dark)
    rail = top - 0.06 * s
    d.line((cx - 0.115 * s, rail, cx + 0.115 * s, rail), fill=dark, width=max(1, int(0.01 * s)))
    for k in range(7):
        x = cx - 0.11 * s + 0.22 * s * k / 6
        d.line((x, rail, x, top), fill=dark, width=max(1, int(0.006 * s)))
    lamp = (cx - 0.06 * s, top - 0.15 * s, cx + 0.06 * s, top - 0.015 * s)
    d.rectangle(lamp, fill=(255, 236, 150))
    for x in (cx - 0.02 * s, cx + 0.02 * s):
        d.line((x, lamp[1], x, lamp[3]), fill=dark, width=max(1, int(0.006 * s)))
    d.chord((cx - 0.085 * s, top - 0.235 * s, cx + 0.085 * s, top - 0.085 * s), 180, 360, fill=band)
    d.line((cx, top - 0.235 * s, cx, top - 0.27 * s), fill=dark, width=max(1, int(0.008 * s)))
    d.ellipse((cx - 0.012 * s, top - 0.285 * s, cx + 0.012 * s, top - 0.26 * s), fill=dark)
    if p.gain[0] < 0.95:  # the beam shows once the light is low
        ly = top - 0.08 * s
        d.polygon([(cx, ly - 0.02 * s), (cx + f * 1.4 * s, ly - 0.2 * s), (cx + f * 1.4 * s, ly + 0.12 * s),
                   (cx, ly + 0.02 * s)], fill=(255, 240, 180, 70))
        p.glow("ellipse", (cx - 0.13 * s, ly - 0.1 * s, cx + 0.13 * s, ly + 0.1 * s), (190, 160, 90))


def stall(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A street food stall: a counter under a striped canopy on poles, lanterns hanging
    from its edge, a steaming pot. Lit by its own lamps, so it reads at night."""
    cx, gy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    warm = (1.0, 0.86, 0.68) if p.dark else p.gain

    def lamp_lit(c: RGB) -> RGB:
        return (min(255, int(c[0] * warm[0])), min(255, int(c[1] * warm[1])), min(255, int(c[2] * warm[2])))

    wood = lamp_lit((140, 90, 50))
    for sgn in (-1, 1):  # poles
        d.rectangle((cx + sgn * 0.52 * s - 0.015 * s, gy - 0.9 * s, cx + sgn * 0.52 * s + 0.015 * s, gy),
                    fill=shade(wood, 0.7))
    d.rectangle((cx - 0.55 * s, gy - 0.36 * s, cx + 0.55 * s, gy), fill=wood)
    d.rectangle((cx - 0.58 * s, gy - 0.4 * s, cx + 0.58 * s, gy - 0.35 * s), fill=shade(wood, 1.2))
    p.hatch((cx - 0.55 * s, gy - 0.35 * s, cx + 0.55 * s, gy), 7, shade(wood, 0.6), alpha=110, vertical=True)
    # A pot with steam, bowls beside it.
    pot = lamp_lit((60, 60, 66))
    d.rectangle((cx + 0.08 * s, gy - 0.56 * s, cx + 0.34 * s, gy - 0.4 * s), fill=pot)
    d.ellipse((cx + 0.06 * s, gy - 0.59 * s, cx + 0.36 * s, gy - 0.53 * s), fill=shade(pot, 1.4))
    for k in range(3):
        x0 = cx + (0.13 + 0.08 * k) * s
        pts = [(x0 + 0.02 * s * math.sin(t * 6 + k), gy - 0.62 * s - 0.22 * s * t) for t in
               [j / 6 for j in range(7)]]
        d.line(pts, fill=(255, 255, 255, 90), width=max(1, int(0.015 * s)))
    for k in range(3):
        bx = cx - (0.38 - 0.13 * k) * s
        d.chord((bx - 0.05 * s, gy - 0.47 * s, bx + 0.05 * s, gy - 0.37 * s), 0, 180,
                fill=lamp_lit((235, 230, 220)))
    # Canopy: red and cream stripes, a scalloped edge.
    c0, c1, cy0, cy1 = cx - 0.66 * s, cx + 0.66 * s, gy - 1.02 * s, gy - 0.86 * s
    red, cream = lamp_lit((205, 35, 30)), lamp_lit((248, 238, 215))
    stripes = 8
    for k in range(stripes):
        t0, t1 = k / stripes, (k + 1) / stripes
        xa_top, xb_top = cx - 0.52 * s + 1.04 * s * t0, cx - 0.52 * s + 1.04 * s * t1
        xa, xb = c0 + (c1 - c0) * t0, c0 + (c1 - c0) * t1
        c = red if k % 2 == 0 else cream
        d.polygon([(xa_top, cy0), (xb_top, cy0), (xb, cy1), (xa, cy1)], fill=c)
        d.chord((xa, cy1 - 0.035 * s, xb, cy1 + 0.035 * s), 0, 180, fill=c)
    # Lanterns hang from the canopy's edge and light it.
    for k in range(4):
        lx = c0 + (c1 - c0) * (0.12 + 0.25 * k)
        top = cy1 + 0.05 * s
        d.line((lx, cy1, lx, top), fill=shade(wood, 0.5), width=max(1, int(0.006 * s)))
        box = (lx - 0.055 * s, top, lx + 0.055 * s, top + 0.11 * s)
        d.ellipse(box, fill=(255, 105, 50) if k % 2 == 0 else (255, 135, 45))  # red and orange paper
        d.line((lx - 0.05 * s, top + 0.055 * s, lx + 0.05 * s, top + 0.055 * s), fill=(190, 70, 40),
               width=max(1, int(0.006 * s)))
        if p.dark:
            p.glow("ellipse", (box[0] - 0.1 * s, box[1] - 0.08 * s, box[2] + 0.1 * s, box[3] + 0.1 * s),
                   (200, 110, 50))
    for k in (-1, 1):  # stools
        sx = cx + k * 0.3 * s
        d.ellipse((sx - 0.09 * s, gy + 0.02 * s, sx + 0.09 * s, gy + 0.06 * s), fill=shade(wood, 0.9))
        d.line((sx, gy + 0.05 * s, sx, gy + 0.2 * s), fill=shade(wood, 0.6), width=max(1, int(0.02 * s)))


def cactus(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A saguaro: a trunk with an arm on each side."""
    cx, gy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    green = p.lit((70, 125, 70))
    w = 0.09 * s
    d.rounded_rectangle((cx - w, gy - s, cx + w, gy), radius=w, fill=green)
    for sgn, y0, up in ((-1, 0.55, 0.3), (1, 0.45, 0.35)):
        ax = cx + sgn * 0.24 * s
        d.rounded_rectangle(sorted_box(cx, gy - y0 * s - 0.07 * s, ax, gy - y0 * s + 0.07 * s),
                            radius=0.07 * s,
                            fill=green)
        d.rounded_rectangle((ax - 0.07 * s, gy - (y0 + up) * s, ax + 0.07 * s, gy - y0 * s + 0.07 * s),
                            radius=0.07 * s, fill=green)
    p.hatch((cx - w * 0.8, gy - s * 0.95, cx + w * 0.8, gy), 4, shade(green, 0.7), alpha=120, vertical=True)


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


def mesas(p: Painter, rng: random.Random, horizon: float) -> None:
    """Flat-topped desert buttes along the horizon, red-brown, banded."""
    w, h, d = p.w, p.h, p.draw
    x = -rng.uniform(0, 0.2) * w
    while x < w:
        width, height = rng.uniform(0.12, 0.3) * w, rng.uniform(0.05, 0.14) * h
        fill = p.lit(rng.choice([(175, 95, 60), (160, 80, 55), (190, 115, 75)]))
        d.polygon([(x, horizon + 1), (x + 0.15 * width, horizon - height), (x + 0.85 * width,
                                                                            horizon - height),
                   (x + width, horizon + 1)], fill=fill)
        p.hatch((x + 0.15 * width, horizon - height, x + 0.85 * width, horizon), 5, shade(fill, 0.8),
                alpha=80)
        x += width + rng.uniform(0.05, 0.3) * w


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


def far_shore(p: Painter, rng: random.Random, horizon: float) -> None:
    """A strip of land across the water with small houses: a harbour town."""
    w, h, d = p.w, p.h, p.draw
    land = p.lit((95, 110, 90))
    d.rectangle((0, horizon - 0.012 * h, w, horizon + 1), fill=land)
    x = rng.uniform(0, 0.03) * w
    while x < w:
        bw, bh = rng.uniform(0.025, 0.05) * w, rng.uniform(0.02, 0.045) * h
        wall = p.lit(rng.choice([(235, 225, 205), (200, 120, 90), (220, 200, 150), (170, 185, 200)]))
        d.rectangle((x, horizon - bh, x + bw, horizon), fill=wall)
        d.polygon([(x - 0.003 * w, horizon - bh), (x + bw / 2, horizon - bh - 0.5 * bw),
                   (x + bw + 0.003 * w, horizon - bh)], fill=p.lit((150, 60, 50)))
        if p.dark:
            d.rectangle((x + bw * 0.35, horizon - bh * 0.7, x + bw * 0.6, horizon - bh * 0.4),
                        fill=(255, 210, 120))
        x += bw + rng.uniform(0.0, 0.03) * w


def cliff(p: Painter, rng: random.Random, side: int, lip_x: float, top_y: float, sea_y: float) -> None:
    """A sea cliff filling one side (``side`` -1 left, 1 right) from the frame's edge to
    ``lip_x``: a grassy top at ``top_y``, a jagged rock face down to the bottom, surf
    where it stands in the sea (below ``sea_y``)."""
    w, h, d = p.w, p.h, p.draw
    edge = 0.0 if side < 0 else float(w)
    rock = p.lit(rng.choice([(120, 110, 100), (105, 100, 95), (135, 118, 98)]))
    face = [(lip_x, top_y)]
    y, x = top_y, lip_x
    while y < h:
        y += rng.uniform(0.04, 0.09) * h
        x = lip_x - side * rng.uniform(-0.02, 0.05) * w + side * 0.04 * w * (y - top_y) / h
        face.append((x, min(y, h + 1)))
    top = [(edge, top_y + 0.01 * h), ((edge + lip_x) / 2, top_y - 0.012 * h), (lip_x, top_y)]
    d.polygon([(edge, h + 1), *top, *face, (face[-1][0], h + 1)], fill=rock)
    d.polygon([*top, (lip_x - side * 0.01 * w, top_y + 0.02 * h), (edge, top_y + 0.035 * h)],
              fill=p.lit((85, 135, 65)))
    # Shadowed cracks down the face, strata where detail allows.
    for k in range(1, len(face) - 1):
        x0, y0 = face[k]
        d.line((x0, y0, x0 - side * 0.06 * w, y0 + 0.02 * h), fill=shade(rock, 0.7),
               width=max(1, int(0.004 * w)))
    if p.fine:
        rng_f = p.frng
        for _ in range(p.count(abs(lip_x - edge) * (h - top_y) * 0.5, 1)):
            xx = rng_f.uniform(min(edge, lip_x), max(edge, lip_x))
            yy = rng_f.uniform(top_y + 0.04 * h, h)
            d.line((xx, yy, xx + 10 * p.px, yy + 2 * p.px), fill=(*shade(rock, 0.8), 150), width=p.stroke(1))
    # Surf where the face meets the sea: a broken line of foam along its foot.
    foam = (*p.lit((245, 248, 250)), 170)
    for (xa, ya), (xb, yb) in itertools.pairwise(face[1:]):
        if ya < sea_y:
            continue
        d.line((xa + side * 0.004 * w, ya, xb + side * 0.004 * w, yb), fill=foam,
               width=max(1, int(0.008 * w)))
        d.line((xa - side * 0.02 * w, ya + 0.01 * h, xa - side * 0.05 * w, ya + 0.012 * h), fill=foam,
               width=max(1, int(0.004 * w)))


def rocks(p: Painter, rng: random.Random, cx: float, gy: float, s: float) -> None:
    """A low rocky islet a lighthouse stands on, surf round its foot."""
    d = p.draw
    rock = p.lit(rng.choice([(95, 92, 90), (115, 105, 95)]))
    pts = [(cx - 0.42 * s, gy + 0.1 * s), (cx - 0.3 * s, gy + 0.01 * s), (cx - 0.15 * s, gy - 0.02 * s),
           (cx + 0.12 * s, gy - 0.02 * s), (cx + 0.3 * s, gy + 0.02 * s), (cx + 0.45 * s, gy + 0.1 * s)]
    d.polygon(pts, fill=rock)
    d.polygon([(cx - 0.2 * s, gy + 0.1 * s), (cx - 0.05 * s, gy + 0.03 * s), (cx + 0.25 * s, gy + 0.1 * s)],
              fill=shade(rock, 0.75))
    d.polygon(ellipse_points(cx, gy + 0.1 * s, 0.5 * s, 0.03 * s, 0, 20), fill=(*p.lit((240, 245, 250)), 140))


def road(p: Painter, rng: random.Random, horizon: float, vx: float) -> None:
    """Asphalt running from the bottom edge to a vanishing point on the horizon, edge
    lines and a dashed centre line shrinking with distance."""
    w, h, d = p.w, p.h, p.draw
    asphalt = p.lit((72, 72, 76))
    half_bottom = rng.uniform(0.36, 0.46) * w
    d.polygon([(vx - 0.006 * w, horizon), (vx + 0.006 * w, horizon), (vx + half_bottom, h + 1),
               (vx - half_bottom, h + 1)], fill=asphalt)
    line = p.lit((235, 235, 225))
    for sgn in (-1, 1):
        d.line((vx + sgn * 0.005 * w, horizon, vx + sgn * half_bottom * 0.92, h), fill=line,
               width=max(1, int(0.006 * w)))
    dash = p.lit((240, 200, 60))
    for k in range(12):
        t0, t1 = (k / 12) ** 2, ((k + 0.5) / 12) ** 2
        y0, y1 = horizon + (h - horizon) * t0, horizon + (h - horizon) * t1
        wd = 0.004 * w + 0.018 * w * t1
        d.polygon([(vx - wd * 0.6, y0), (vx + wd * 0.6, y0), (vx + wd, y1), (vx - wd, y1)], fill=dash)
    if p.fine:  # grit in the tarmac
        rng_f = p.frng
        for _ in range(p.count(half_bottom * (h - horizon), 0.8)):
            t = rng_f.random()
            y = horizon + (h - horizon) * t
            x = vx + rng_f.uniform(-1, 1) * half_bottom * t
            d.point((x, y), fill=shade(asphalt, rng_f.choice((0.7, 1.35))))


def pier(p: Painter, rng: random.Random, horizon: float, side: int) -> None:
    """A wooden jetty from one bottom corner out towards the middle of the water."""
    w, h, d = p.w, p.h, p.draw
    wood = p.lit((125, 88, 55))
    edge = 0.0 if side < 0 else float(w)
    far_x = w * (0.5 - side * rng.uniform(0.05, 0.15))
    far_y = horizon + (h - horizon) * 0.35
    near_in = edge - side * 0.35 * w
    deck = [(edge, h * 0.86), (near_in, h * 0.93), (far_x - side * 0.005 * w, far_y + 0.01 * h),
            (far_x + side * 0.04 * w, far_y)]
    for k in range(8):  # posts under the deck
        t = k / 7
        x = near_in + (far_x - near_in) * t
        y = h * 0.93 + (far_y + 0.01 * h - h * 0.93) * t
        d.rectangle((x - 0.006 * w * (1.5 - t), y, x + 0.006 * w * (1.5 - t), y + 0.06 * h * (1.3 - t)),
                    fill=shade(wood, 0.6))
    d.polygon(deck, fill=wood)
    if p.fine:  # planks
        for k in range(1, 30):
            t = k / 30
            ax, ay = edge + (far_x + side * 0.04 * w - edge) * t, h * 0.86 + (far_y - h * 0.86) * t
            bx, by = near_in + (far_x - near_in) * t, h * 0.93 + (far_y + 0.01 * h - h * 0.93) * t
            d.line((ax, ay, bx, by), fill=shade(wood, 0.7), width=p.stroke(1))
