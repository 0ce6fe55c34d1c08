"""Things: a mug, a teapot, a bowl of ramen, a pocket watch (in a hand), a car, boats
(sail, paper, fishing), koi and lanterns, drawn with Pillow primitives.

Each keeps the silhouette a class names it by (a teapot's spout and handle, a
bowl's rim and foot with steam above, a watch's round face and chain); shapes come
from the layout generator, fine detail (glaze speckles, engraving, links, creases)
from the painter's own, sized in output pixels (see ``_paint``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

from ._paint import RGB, Painter, Pose, bezier, ellipse_points, mix, shade, sorted_box

__all__ = ["mug", "teapot", "ramen", "pocket_watch", "car", "boat", "koi", "lantern", "luma", "TEAPOTS",
           "BOWLS"]

GOLD = (214, 172, 58)


def luma(c: Sequence[int]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def mug(p: Painter, rng: random.Random, pose: Pose) -> None:
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    d = p.draw
    glaze = p.lit(pose.colour or (240, 238, 232))
    rim_h = 0.07 * s
    d.ellipse(sorted_box(cx + f * 0.17 * s, gy - 0.46 * s, cx + f * 0.39 * s, gy - 0.16 * s),
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


#: Glazes a teapot comes in, light and dark: the still life sets the wall against it.
TEAPOTS: list[RGB] = [(236, 236, 240), (112, 62, 36), (150, 195, 170), (48, 52, 58), (185, 48, 42),
                      (60, 95, 160), (240, 225, 190)]


def teapot(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A squat round body on a foot, a domed lid with a knob, a spout rising on the
    facing side and a loop handle on the other."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    d = p.draw
    body = p.lit(pose.colour or rng.choice(TEAPOTS))
    accent = p.lit(rng.choice([(40, 70, 150), (200, 160, 60), (245, 240, 230), (160, 40, 40)]))
    # Handle: a thick ring, half hidden behind the body.
    d.ellipse(sorted_box(cx - f * 0.58 * s, gy - 0.5 * s, cx - f * 0.22 * s, gy - 0.16 * s), outline=body,
              width=max(2, int(0.052 * s)))
    # Spout: a tube tapering from the lower body out and up.
    path = bezier((cx + f * 0.2 * s, gy - 0.2 * s), (cx + f * 0.55 * s, gy - 0.18 * s),
                  (cx + f * 0.66 * s, gy - 0.55 * s), 10)
    left, right = [], []
    for k, (x, y) in enumerate(path):
        nx, ny = path[min(k + 1, len(path) - 1)][0] - path[max(k - 1, 0)][0], \
            path[min(k + 1, len(path) - 1)][1] - path[max(k - 1, 0)][1]
        norm = math.hypot(nx, ny) or 1.0
        half = (0.085 - 0.055 * k / (len(path) - 1)) * s
        left.append((x - ny / norm * half, y + nx / norm * half))
        right.append((x + ny / norm * half, y - nx / norm * half))
    d.polygon(left + right[::-1], fill=body)
    tx, ty = path[-1]
    d.ellipse((tx - 0.035 * s, ty - 0.02 * s, tx + 0.035 * s, ty + 0.02 * s), fill=shade(body, 0.7))
    # Body, foot, shading and a highlight.
    box = (cx - 0.37 * s, gy - 0.58 * s, cx + 0.37 * s, gy - 0.02 * s)
    d.rectangle((cx - 0.21 * s, gy - 0.06 * s, cx + 0.21 * s, gy), fill=shade(body, 0.8))
    d.ellipse(box, fill=body)
    d.chord(box, 25, 155, fill=(*shade(body, 0.72), 150))
    d.ellipse((cx - f * 0.24 * s - 0.07 * s, gy - 0.5 * s, cx - f * 0.24 * s + 0.07 * s, gy - 0.38 * s),
              fill=(255, 255, 255, 90))
    # A painted band round the belly: fine tiers add its pattern.
    belt = [(cx + 0.36 * s * t, gy - 0.33 * s + 0.05 * s * (1 - t * t)) for t in
            (-0.98, -0.7, -0.35, 0.0, 0.35, 0.7, 0.98)]
    d.line(belt, fill=accent, width=max(1, int(0.045 * s)), joint="curve")
    if p.fine:
        dot = max(p.px, 0.006 * s)
        for x, y in [(cx + 0.33 * s * (k / 8), gy - 0.33 * s + 0.05 * s * (1 - (k / 8) ** 2)) for k in
                     range(-7, 8)]:
            d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=shade(accent, 1.6) if luma(accent) < 128
                      else shade(accent, 0.5))
    # Lid: a dome on the rim, a knob on top.
    d.chord((cx - 0.2 * s, gy - 0.68 * s, cx + 0.2 * s, gy - 0.48 * s), 180, 360, fill=shade(body, 1.08))
    d.line((cx - 0.22 * s, gy - 0.575 * s, cx + 0.22 * s, gy - 0.575 * s), fill=shade(body, 0.7),
           width=max(1, int(0.012 * s)))
    d.ellipse((cx - 0.05 * s, gy - 0.75 * s, cx + 0.05 * s, gy - 0.66 * s), fill=shade(body, 0.9))
    if p.fine:  # glaze speckles
        rng_f = p.frng
        for _ in range(p.count(0.3 * s * s, 3)):
            a, r = rng_f.uniform(0, math.tau), math.sqrt(rng_f.random())
            x, y = cx + 0.34 * s * r * math.cos(a), gy - 0.3 * s + 0.25 * s * r * math.sin(a)
            d.point((x, y), fill=shade(body, rng_f.choice((0.75, 1.25))))


#: Light bowls only: ramen is shown on a dark wall, for its steam to show.
BOWLS: list[RGB] = [(238, 236, 228), (232, 218, 186), (196, 214, 200), (226, 226, 236)]


def ramen(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A bowl seen from a little above: rim, broth, noodles, egg, pork, nori and
    scallions, chopsticks in front and steam rising clear of the rim."""
    cx, gy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    bowl = p.lit(pose.colour or rng.choice(BOWLS))
    rim_y, rx, ry = gy - 0.5 * s, 0.5 * s, 0.12 * s
    d.rectangle((cx - 0.2 * s, gy - 0.08 * s, cx + 0.2 * s, gy), fill=shade(bowl, 0.75))
    d.chord((cx - rx, rim_y - 0.45 * s, cx + rx, rim_y + 0.45 * s), 0, 180, fill=bowl)
    d.chord((cx - rx, rim_y - 0.45 * s, cx + rx, rim_y + 0.45 * s), 40, 140, fill=shade(bowl, 0.8))
    # A painted wave round the outside.
    wave = [(cx + 0.44 * s * t, rim_y + 0.16 * s + 0.02 * s * math.sin(t * 14)) for t in
            [k / 12 for k in range(-11, 12)]]
    d.line(wave, fill=mix(bowl, (255, 255, 255), 0.55) if luma(bowl) < 140 else shade(bowl, 0.5),
           width=max(1, int(0.015 * s)))
    d.ellipse((cx - rx, rim_y - ry, cx + rx, rim_y + ry), fill=shade(bowl, 1.15))
    broth = p.lit((206, 142, 72))
    bx, by = 0.46 * s, 0.1 * s
    d.ellipse((cx - bx, rim_y - by, cx + bx, rim_y + by), fill=broth)
    # Nori standing at the back, then noodles, then toppings.
    d.polygon([(cx - 0.34 * s, rim_y - 0.02 * s), (cx - 0.3 * s, rim_y - 0.16 * s),
               (cx - 0.15 * s, rim_y - 0.15 * s), (cx - 0.17 * s, rim_y - 0.01 * s)],
 fill=p.lit((28, 48, 32)))
    noodle = p.lit((246, 214, 120))
    for k in range(6):
        y0 = rim_y - 0.055 * s + k * 0.022 * s
        half = bx * math.sqrt(max(0.0, 1 - ((y0 - rim_y) / by) ** 2)) * 0.9
        pts = [(cx - half + 2 * half * t / 10, y0 + 0.01 * s * math.sin(t * 1.7 + k)) for t in range(11)]
        d.line(pts, fill=noodle, width=max(1, int(0.012 * s)), joint="curve")
    for ex in (cx + 0.1 * s, cx + 0.22 * s):  # egg halves
        d.ellipse((ex - 0.065 * s, rim_y - 0.045 * s, ex + 0.065 * s, rim_y + 0.035 * s),
                  fill=p.lit((248, 246, 236)))
        d.ellipse((ex - 0.03 * s, rim_y - 0.02 * s, ex + 0.03 * s, rim_y + 0.015 * s),
                  fill=p.lit((240, 150, 30)))
    d.ellipse((cx - 0.12 * s, rim_y - 0.01 * s, cx + 0.02 * s, rim_y + 0.07 * s), fill=p.lit((200, 130, 110)))
    d.ellipse((cx - 0.1 * s, rim_y + 0.005 * s, cx, rim_y + 0.055 * s), fill=p.lit((225, 165, 140)))
    nx, ny = cx + 0.3 * s, rim_y + 0.04 * s  # a slice of narutomaki, its pink swirl
    d.ellipse((nx - 0.05 * s, ny - 0.03 * s, nx + 0.05 * s, ny + 0.03 * s), fill=p.lit((250, 248, 244)))
    d.arc((nx - 0.03 * s, ny - 0.018 * s, nx + 0.03 * s, ny + 0.018 * s), 0, 300, fill=p.lit((230, 90, 130)),
          width=max(1, int(0.008 * s)))
    onion = p.lit((90, 170, 60))
    for _ in range(7):
        ox, oy = cx + rng.uniform(-0.35, 0.05) * s, rim_y + rng.uniform(-0.04, 0.06) * s
        d.ellipse((ox - 0.014 * s, oy - 0.009 * s, ox + 0.014 * s, oy + 0.009 * s), outline=onion,
                  width=max(1, int(0.006 * s)))
    if p.fine:  # sesame and fat drops on the broth
        rng_f = p.frng
        for _ in range(p.count(0.05 * s * s, 3)):
            a, r = rng_f.uniform(0, math.tau), math.sqrt(rng_f.random())
            x, y = cx + bx * 0.9 * r * math.cos(a), rim_y + by * 0.9 * r * math.sin(a)
            d.point((x, y), fill=rng_f.choice([(250, 240, 200), shade(broth, 1.2), shade(broth, 0.8)]))
    # Chopsticks on the table in front, clear of the bowl.
    stick = p.lit((150, 95, 50))
    for k in (0, 1):
        y = gy + (0.07 + 0.035 * k) * s
        d.line((cx - 0.42 * s, y, cx + 0.5 * s, y - 0.015 * s), fill=stick, width=max(1, int(0.018 * s)))
    # Steam: wavy strands rising from above the rim, fading as they climb.
    for x0 in (cx - 0.22 * s, cx - 0.02 * s, cx + 0.2 * s)[: 2 + (rng.random() < 0.7)]:
        phase = rng.uniform(0, math.tau)
        pts = [(x0 + 0.04 * s * math.sin(phase + t * 5), rim_y - 0.27 * s - 0.5 * s * t)
               for t in [j / 10 for j in range(11)]]
        for j in range(len(pts) - 1):
            alpha = int(150 * (1 - j / len(pts)) + 40)
            d.line((pts[j], pts[j + 1]), fill=(255, 255, 255, alpha), width=max(1, int(0.028 * s)))


def pocket_watch(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A gold case with a white face, hands and a crown; its chain loops out and hangs
    down. ``hand``: held up in an open hand (the pose's ``gy`` is then the watch's
    centre), else lying on the table with the chain beside it."""
    cx, s, f = pose.cx, pose.s, pose.facing
    held = "hand" in pose.traits
    r = 0.25 * s
    cy = pose.gy if held else pose.gy - r * 0.9
    d = p.draw
    gold = p.lit(pose.colour or GOLD)
    skin = _open_hand(p, rng, cx, cy, r, f) if held else None
    # Chain: from the bow, out to the side and down, link by link.
    bow_y = cy - r * 1.32
    if held:
        path = bezier((cx, bow_y - 0.12 * r), (cx + f * 1.9 * r, bow_y - 1.1 * r), (cx + f * 1.75 * r, cy),
                      14)
        path += bezier((cx + f * 1.75 * r, cy), (cx + f * 1.7 * r, cy + 1.2 * r), (cx + f * 2.1 * r,
                                                                                   p.h + r), 10)[1:]
    else:
        path = bezier((cx, bow_y - 0.12 * r), (cx + f * 1.6 * r, bow_y - 0.4 * r), (cx + f * 1.4 * r,
                                                                                    cy + 0.4 * r), 12)
        path += bezier((cx + f * 1.4 * r, cy + 0.4 * r), (cx + f * 1.2 * r, cy + 1.0 * r),
                       (cx + f * 2.6 * r, cy + 0.9 * r), 10)[1:]
    _chain(p, path, r, gold)
    # Bow and crown, then the case, bezel and face.
    d.ellipse((cx - 0.17 * r, bow_y - 0.17 * r, cx + 0.17 * r, bow_y + 0.17 * r), outline=gold,
              width=max(1, int(0.06 * r)))
    d.rectangle((cx - 0.1 * r, cy - r * 1.18, cx + 0.1 * r, cy - r * 0.95), fill=shade(gold, 0.85))
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=gold)
    d.ellipse((cx - 0.93 * r, cy - 0.93 * r, cx + 0.93 * r, cy + 0.93 * r), fill=shade(gold, 0.78))
    face = p.lit((246, 242, 228))
    fr = 0.82 * r
    d.ellipse((cx - fr, cy - fr, cx + fr, cy + fr), fill=face)
    ink = p.lit((30, 30, 40))
    for k in range(12):
        a = k * math.tau / 12
        inner = 0.68 if k % 3 == 0 else 0.74
        d.line((cx + fr * inner * math.cos(a), cy + fr * inner * math.sin(a),
                cx + fr * 0.9 * math.cos(a), cy + fr * 0.9 * math.sin(a)), fill=ink,
               width=max(1, int((0.05 if k % 3 == 0 else 0.025) * r)))
    hour, minute = rng.uniform(0, math.tau), rng.uniform(0, math.tau)
    for a, ln, wd in ((hour, 0.45, 0.07), (minute, 0.68, 0.045)):
        d.line((cx, cy, cx + fr * ln * math.sin(a), cy - fr * ln * math.cos(a)), fill=ink,
               width=max(1, int(wd * r)))
    d.ellipse((cx - 0.06 * r, cy - 0.06 * r, cx + 0.06 * r, cy + 0.06 * r), fill=ink)
    if p.fine:  # minute track, the small seconds dial and engraving on the case
        for k in range(60):
            a = k * math.tau / 60
            d.line((cx + fr * 0.86 * math.cos(a), cy + fr * 0.86 * math.sin(a),
                    cx + fr * 0.9 * math.cos(a), cy + fr * 0.9 * math.sin(a)), fill=ink, width=p.stroke(1))
        sy = cy + fr * 0.45
        d.ellipse((cx - 0.16 * r, sy - 0.16 * r, cx + 0.16 * r, sy + 0.16 * r), outline=ink,
                  width=p.stroke(1))
        d.line((cx, sy, cx + 0.12 * r, sy - 0.06 * r), fill=p.lit((160, 30, 30)), width=p.stroke(1))
        for k in range(p.count(r * r * 0.6, 1) // 4):
            rr = r * (0.94 + 0.05 * (k % 4) / 4)
            a0 = p.frng.uniform(0, 360)
            d.arc((cx - rr, cy - rr, cx + rr, cy + rr), a0, a0 + 25, fill=shade(gold, 1.25),
                  width=p.stroke(1))
    d.arc((cx - 0.7 * r, cy - 0.7 * r, cx + 0.7 * r, cy + 0.7 * r), 200, 250, fill=(255, 255, 255, 150),
          width=max(1, int(0.05 * r)))
    if skin is not None:  # the thumb, from the palm's side over the case's rim
        tx, ty = cx - f * 1.02 * r, cy + 0.2 * r
        d.polygon(ellipse_points(tx, ty, 0.2 * r, 0.5 * r, f * 0.35, 16), fill=skin,
                  outline=shade(skin, 0.8), width=max(1, int(0.02 * r)))
        nx, ny = tx + f * 0.08 * r, ty - 0.32 * r
        d.polygon(ellipse_points(nx, ny, 0.1 * r, 0.14 * r, f * 0.35, 12), fill=mix(skin, (255, 255, 255),
                                                                                    0.35))


def _open_hand(p: Painter, rng: random.Random, cx: float, cy: float, r: float, f: int) -> RGB:
    """Palm towards the viewer, fingers up behind the watch, a coat sleeve at the wrist;
    returns the skin colour (the thumb is drawn over the watch)."""
    d = p.draw
    skin = p.lit(rng.choice([(232, 190, 158), (198, 146, 108), (150, 102, 72)]))
    crease = shade(skin, 0.8)
    fingers = [(-0.72, 1.05), (-0.25, 1.28), (0.22, 1.22), (0.64, 1.0)]
    for dx, up in fingers:
        x = cx - f * dx * r
        box = (x - 0.19 * r, cy - up * r, x + 0.19 * r, cy + 0.6 * r)
        d.rounded_rectangle(box, radius=0.19 * r, fill=skin, outline=crease, width=max(1, int(0.02 * r)))
        for k in (0.35, 0.65):  # knuckle creases
            y = cy - up * r + (up + 0.6) * r * k * 0.5
            d.line((x - 0.1 * r, y, x + 0.1 * r, y), fill=crease, width=max(1, int(0.015 * r)))
    d.ellipse((cx - 1.1 * r, cy - 0.1 * r, cx + 1.1 * r, cy + 1.6 * r), fill=skin)
    d.polygon([(cx - 0.75 * r, cy + 1.2 * r), (cx + 0.75 * r, cy + 1.2 * r), (cx + 0.7 * r, p.h),
               (cx - 0.7 * r, p.h)], fill=skin)
    sleeve = p.lit(rng.choice([(40, 45, 60), (90, 60, 45), (35, 60, 50)]))
    d.polygon([(cx - 0.85 * r, cy + 2.0 * r), (cx + 0.85 * r, cy + 2.0 * r), (cx + 1.0 * r, p.h + 1),
               (cx - 1.0 * r, p.h + 1)], fill=sleeve)
    d.rectangle((cx - 0.86 * r, cy + 2.0 * r, cx + 0.86 * r, cy + 2.18 * r), fill=p.lit((235, 232, 225)))
    d.arc((cx - 0.7 * r, cy + 0.6 * r, cx + 0.5 * r, cy + 1.4 * r), 200, 320, fill=crease,
          width=max(1, int(0.02 * r)))
    return skin


def _chain(p: Painter, path: list[tuple[float, float]], r: float, gold: RGB) -> None:
    d = p.draw
    link, dark = 0.13 * r, shade(gold, 0.6)
    d.line(path, fill=shade(gold, 0.85), width=max(1, int(0.05 * r)), joint="curve")
    # Walk the path, a link every ``link`` pixels, alternately flat and edge-on.
    carry, k = 0.0, 0
    for (x0, y0), (x1, y1) in itertools.pairwise(path):
        seg = math.hypot(x1 - x0, y1 - y0)
        t = carry
        while t < seg:
            x, y = x0 + (x1 - x0) * t / seg, y0 + (y1 - y0) * t / seg
            a = math.atan2(y1 - y0, x1 - x0)
            if k % 2 == 0:
                d.polygon(ellipse_points(x, y, link * 0.6, link * 0.35, a, 10), outline=dark, fill=gold,
                          width=max(1, int(0.02 * r)))
            elif p.fine:
                d.line((x - link * 0.3 * math.cos(a), y - link * 0.3 * math.sin(a),
                        x + link * 0.3 * math.cos(a), y + link * 0.3 * math.sin(a)), fill=shade(gold, 1.3),
                       width=p.stroke(1))
            k += 1
            t += link
        carry = t - seg


def car(p: Painter, rng: random.Random, pose: Pose) -> None:
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    body = p.lit(pose.colour or rng.choice([(200, 40, 40), (40, 90, 180), (230, 230, 225), (250, 190, 40)]))
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


def boat(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A sailing boat; ``paper``: a folded paper boat; ``fishing``: a cabin and a short mast."""
    if "paper" in pose.traits:
        _paper_boat(p, pose)
        return
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    d = p.draw
    hull = p.lit(pose.colour or rng.choice([(170, 50, 40), (40, 60, 110), (240, 240, 235), (110, 70, 40)]))
    sail = p.lit((248, 245, 235))
    fishing = "fishing" in pose.traits
    top = gy - (0.7 if fishing else 1.0) * s
    d.polygon([(cx - 0.5 * s, gy - 0.18 * s), (cx + 0.5 * s, gy - 0.18 * s),
               (cx + f * 0.38 * s, gy + 0.02 * s), (cx - f * 0.36 * s, gy + 0.02 * s)], fill=hull)
    d.line((cx, gy - 0.18 * s, cx, top), fill=p.lit((80, 60, 40)), width=max(1, int(0.02 * s)))
    if fishing:
        cab = p.lit((235, 232, 220))
        d.rectangle(sorted_box(cx - f * 0.05 * s, gy - 0.4 * s, cx - f * 0.32 * s, gy - 0.18 * s), fill=cab)
        d.rectangle(sorted_box(cx - f * 0.1 * s, gy - 0.35 * s, cx - f * 0.26 * s, gy - 0.27 * s),
                    fill=(255, 210, 120) if p.dark else p.lit((120, 160, 200)))
        d.line((cx, top, cx + f * 0.45 * s, gy - 0.2 * s), fill=p.lit((60, 50, 40)), width=p.stroke(2))
    else:
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
        if not fishing:
            p.hatch((cx + f * 0.03 * s if f > 0 else cx - 0.44 * s, gy - 0.6 * s,
                     cx + 0.44 * s if f > 0 else cx - 0.03 * s, gy - 0.27 * s), 9, (200, 195, 185), alpha=50)
    # Reflection on the water below.
    d.polygon([(cx - 0.36 * s, gy + 0.03 * s), (cx + 0.38 * s, gy + 0.03 * s), (cx + 0.2 * s, gy + 0.22 * s),
               (cx - 0.2 * s, gy + 0.22 * s)], fill=(*shade(hull, 0.7), 90))


def _paper_boat(p: Painter, pose: Pose) -> None:
    """The folded kind: a flat-bottomed hull with pointed ends and a tall middle fold."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    d = p.draw
    paper = p.pale(pose.colour or (247, 245, 238))
    fold, crease = shade(paper, 0.82), shade(paper, 0.6)
    deck = gy - 0.3 * s
    d.polygon([(cx - 0.3 * s, deck), (cx + f * 0.04 * s, gy - 0.9 * s), (cx + 0.3 * s, deck)], fill=fold)
    d.polygon([(cx + f * 0.04 * s, gy - 0.9 * s), (cx + 0.3 * s * f, deck), (cx + f * 0.02 * s, deck)],
              fill=shade(paper, 0.7))
    d.polygon([(cx - 0.58 * s, deck - 0.06 * s), (cx + 0.58 * s, deck - 0.06 * s), (cx + 0.36 * s, gy),
               (cx - 0.36 * s, gy)], fill=paper)
    for sgn in (-1, 1):  # the end flaps fold up to points
        d.polygon([(cx + sgn * 0.58 * s, deck - 0.06 * s), (cx + sgn * 0.4 * s, deck - 0.06 * s),
                   (cx + sgn * 0.36 * s, gy)], fill=shade(paper, 0.93))
    d.line((cx - 0.4 * s, deck - 0.06 * s, cx + 0.4 * s, deck - 0.06 * s), fill=crease,
           width=max(1, int(0.012 * s)))
    # An outline, as a picture-book boat has: the fold shows against a pale sky too.
    edge = max(1, int(0.02 * s))
    d.line([(cx - 0.3 * s, deck - 0.06 * s), (cx + f * 0.04 * s, gy - 0.9 * s), (cx + 0.3 * s,
                                                                                 deck - 0.06 * s)],
           fill=crease, width=edge, joint="curve")
    d.polygon([(cx - 0.58 * s, deck - 0.06 * s), (cx + 0.58 * s, deck - 0.06 * s), (cx + 0.36 * s, gy),
               (cx - 0.36 * s, gy)], outline=crease, width=edge)
    if p.fine:  # creases and the paper's grain
        for x in (cx - 0.2 * s, cx + 0.2 * s):
            d.line((x, deck - 0.05 * s, cx + (x - cx) * 0.6, gy), fill=(*crease, 150), width=p.stroke(1))
        p.hatch((cx - 0.34 * s, deck, cx + 0.34 * s, gy - 0.02 * s), 5, crease, alpha=35)
    # A faint, broken reflection under it, clear of the hull.
    for k in range(4):
        y = gy + (0.06 + 0.05 * k) * s
        half = (0.32 - 0.06 * k) * s
        d.line((cx - half, y, cx + half, y), fill=(*paper, 55), width=max(1, int(0.02 * s)))


def koi(p: Painter, rng: random.Random, pose: Pose) -> None:
    """One koi seen from above: an orange body with white and black patches, fins and a
    forked tail. ``gy`` is its centre, ``s`` its length."""
    cx, cy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    a = rng.uniform(0, math.tau)
    ca, sa = math.cos(a), math.sin(a)

    def at(u: float, v: float) -> tuple[float, float]:  # along the fish, across it
        return cx + (u * ca - v * sa) * s, cy + (u * sa + v * ca) * s

    body = p.lit(pose.colour or rng.choice([(238, 112, 28), (245, 140, 30), (225, 80, 30)]))
    white, black = p.lit((248, 244, 236)), p.lit((25, 22, 22))
    fin = (*shade(body, 1.1), 170)
    tail = [at(-0.3, 0), at(-0.5, -0.14), at(-0.44, 0), at(-0.5, 0.14)]
    d.polygon(tail, fill=fin)
    for side in (-1, 1):
        d.polygon([at(0.12, side * 0.07), at(0.02, side * 0.2), at(0.06, side * 0.07)], fill=fin)
    d.polygon(ellipse_points(*at(0.02, 0), 0.34 * s, 0.095 * s, a, 24), fill=body)
    # Patches along the back.
    for u, w in ((0.18, 0.07), (-0.08, 0.06)):
        d.polygon(ellipse_points(*at(u, rng.uniform(-0.02, 0.02)), w * s, 0.05 * s, a, 14), fill=white)
    if rng.random() < 0.5:
        d.polygon(ellipse_points(*at(-0.16, 0.02), 0.035 * s, 0.025 * s, a, 10), fill=black)
    for side in (-1, 1):
        ex, ey = at(0.28, side * 0.045)
        d.ellipse((ex - 0.012 * s, ey - 0.012 * s, ex + 0.012 * s, ey + 0.012 * s), fill=black)
    if p.fine:  # scales
        for _ in range(p.count(0.05 * s * s, 6)):
            u, v = p.frng.uniform(-0.25, 0.25), p.frng.uniform(-0.06, 0.06)
            x, y = at(u, v)
            d.arc((x - 2 * p.px, y - 2 * p.px, x + 2 * p.px, y + 2 * p.px), 200, 340, fill=shade(body, 0.8),
                  width=p.stroke(1))


def lantern(p: Painter, rng: random.Random, pose: Pose) -> None:
    """A glowing paper lantern, hanging (``gy`` its top) or afloat with its reflection."""
    cx, gy, s = pose.cx, pose.gy, pose.s
    d = p.draw
    glow = pose.colour or rng.choice([(255, 170, 70), (255, 120, 60), (255, 200, 110)])
    floating = "floating" in pose.traits
    top = gy - 0.5 * s if floating else gy
    box = (cx - 0.3 * s, top, cx + 0.3 * s, top + 0.5 * s)
    d.rectangle((cx - 0.16 * s, top - 0.05 * s, cx + 0.16 * s, top + 0.02 * s), fill=p.lit((40, 30, 25)))
    d.ellipse(box, fill=glow)
    for k in (0.3, 0.5, 0.7):
        y = top + 0.5 * s * k
        d.line((cx - 0.28 * s * math.sin(math.pi * k), y, cx + 0.28 * s * math.sin(math.pi * k), y),
               fill=shade(glow, 0.8), width=max(1, int(0.02 * s)))
    d.rectangle((cx - 0.16 * s, top + 0.48 * s, cx + 0.16 * s, top + 0.54 * s), fill=p.lit((40, 30, 25)))
    p.glow("ellipse", (box[0] - 0.5 * s, box[1] - 0.4 * s, box[2] + 0.5 * s, box[3] + 0.4 * s), shade(glow,
                                                                                                      0.7))
    if floating:
        d.ellipse((cx - 0.3 * s, gy + 0.08 * s, cx + 0.3 * s, gy + 0.3 * s), fill=(*glow, 70))
