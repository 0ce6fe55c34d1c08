"""Animals and people: a fox (standing, or curled up asleep), a cat, a person (young,
old, a sailor), drawn with Pillow primitives.

Shapes come from the layout generator and the pose, fine detail (fur, whiskers,
hair strands, wrinkles, the weave of a coat) from the painter's own generator,
sized in output pixels (see ``_paint``).
"""

from __future__ import annotations

import math
import random

from ._paint import RGB, Painter, Pose, bezier, ellipse_points, mix, shade, sorted_box

__all__ = ["fox", "cat", "person"]


def fox(p: Painter, rng: random.Random, pose: Pose) -> None:
    if "curled" in pose.traits:
        _curled_fox(p, pose)
        return
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    fur = p.lit(_fox_fur(pose.colour))
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
    _fox_head(p, hx, hy, s, f, fur, dark, white, asleep=False)
    # Fur: short strokes along the body and tail, in 1-output-pixel lines.
    tone = [shade(fur, 0.75), shade(fur, 1.2), shade(fur, 0.9)]
    body_area = math.pi * 0.38 * 0.17 * s * s
    p.strokes_in_ellipse(cx, gy - 0.36 * s, 0.36 * s, 0.15 * s, p.count(body_area, 9), 7 * p.px, tone,
                         angle=0 if f > 0 else math.pi, spread=0.35)
    p.strokes_in_ellipse(*tail_c, 0.3 * s, 0.09 * s, p.count(body_area * 0.4, 9), 6 * p.px, tone,
                         angle=tail_a, spread=0.3)
    p.strokes_in_ellipse(hx, hy, 0.12 * s, 0.11 * s, p.count(0.045 * s * s, 9), 4 * p.px, tone,
                         angle=0 if f > 0 else math.pi)


def _fox_head(p: Painter, hx: float, hy: float, s: float, f: int, fur: RGB, dark: RGB, white: RGB,
              *, asleep: bool) -> None:
    d = p.draw
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
    if asleep:  # a closed eye: a dark lid line
        d.arc((ex - 0.035 * s, ey - 0.03 * s, ex + 0.035 * s, ey + 0.02 * s), 20, 160, fill=dark,
              width=max(1, int(0.012 * s)))
    else:
        d.ellipse((ex - 0.022 * s, ey - 0.022 * s, ex + 0.022 * s, ey + 0.022 * s), fill=dark)


def _curled_fox(p: Painter, pose: Pose) -> None:
    """Asleep in a ring: a round back, the bushy tail wrapped round the front with its
    white tip under the chin, the head resting on it, eyes shut."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    fur = p.lit(_fox_fur(pose.colour))
    dark, white = p.lit((45, 30, 25)), p.lit((245, 240, 232))
    line = shade(fur, 0.6)
    wd = max(1, int(0.014 * s))
    d = p.draw
    # The back: a low mound, the haunch marked at the rear.
    d.ellipse((cx - 0.42 * s, gy - 0.46 * s, cx + 0.38 * s, gy - 0.02 * s), fill=fur, outline=line, width=wd)
    d.arc(sorted_box(cx - f * 0.42 * s, gy - 0.36 * s, cx - f * 0.06 * s, gy - 0.02 * s),
          180 if f > 0 else 270, 270 if f > 0 else 360, fill=line, width=wd)
    # The tail: the fox's brush, laid along the front of the body and rising to the chin,
    # its white tip under the nose.
    tail_c, tail_a = (cx + f * 0.02 * s, gy - 0.12 * s), -f * 0.16
    d.polygon(ellipse_points(*tail_c, 0.4 * s, 0.12 * s, tail_a), fill=fur, outline=line, width=wd)
    tip = (tail_c[0] + f * 0.33 * s * math.cos(0.16), tail_c[1] - 0.33 * s * math.sin(0.16))
    d.polygon(ellipse_points(*tip, 0.1 * s, 0.085 * s, tail_a), fill=white, outline=shade(white, 0.82),
              width=wd)
    # The head rests on the tail at the front, nose tucked down to the tip.
    hx, hy = cx + f * 0.17 * s, gy - 0.33 * s
    _fox_head(p, hx, hy, s * 1.1, f, fur, dark, white, asleep=True)
    brush = shade(fur, 1.1)
    tone = [shade(fur, 0.75), shade(fur, 1.2), shade(fur, 0.9)]
    p.strokes_in_ellipse(cx - f * 0.12 * s, gy - 0.28 * s, 0.26 * s, 0.12 * s, p.count(0.13 * s * s, 9),
                         7 * p.px, tone, angle=-f * 0.4, spread=0.35)
    p.strokes_in_ellipse(*tail_c, 0.34 * s, 0.09 * s, p.count(0.1 * s * s, 9), 6 * p.px,
                         [shade(brush, 0.8), shade(brush, 1.15)], angle=tail_a, spread=0.25)


def _fox_fur(colour: RGB | None) -> RGB:
    """A fox's coat: its natural red-orange, or the prompt's colour; a "red fox" is the
    species, so a red word keeps the fox red-orange rather than crimson."""
    natural = (220, 105, 35)
    if colour is None:
        return natural
    r, g, b = colour
    if r > 150 and g < 90 and b < 90:  # a red: the species' own
        return mix(colour, natural, 0.7)
    return colour


def cat(p: Painter, rng: random.Random, pose: Pose) -> None:
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    fur = p.lit(pose.colour or rng.choice([(90, 90, 95), (230, 150, 70), (40, 38, 40), (200, 190, 175)]))
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


def person(p: Painter, rng: random.Random, pose: Pose) -> None:
    """Head and shoulders. ``old``: grey hair, wrinkles, often a beard; ``sailor``: a
    cap (a captain's or a knitted one), a pea coat with brass buttons, a white beard."""
    cx, gy, s, f = pose.cx, pose.gy, pose.s, pose.facing
    old, sailor = "old" in pose.traits, "sailor" in pose.traits
    d = p.draw
    if old or sailor:
        skin = p.lit(rng.choice([(214, 160, 120), (190, 135, 95), (150, 100, 70)]))  # weathered
        hair = p.lit(rng.choice([(222, 222, 225), (200, 200, 204), (235, 233, 228)]))
    else:
        skin = p.lit(rng.choice([(240, 200, 170), (200, 150, 110), (140, 95, 65), (225, 180, 140)]))
        hair = p.lit(rng.choice([(40, 30, 25), (120, 70, 35), (200, 160, 90), (20, 20, 25), (150, 40, 30)]))
    beard = sailor or (old and rng.random() < 0.6)
    cap = rng.choice(("captain", "knit")) if sailor else None
    coat = p.lit(pose.colour or ((28, 38, 70) if sailor else
                                 rng.choice([(60, 80, 140), (150, 40, 50), (60, 110, 80), (230, 230, 225)])))
    # Shoulders: a coat; a sailor's has lapels, a knitted collar and brass buttons.
    d.ellipse((cx - 0.5 * s, gy - 0.32 * s, cx + 0.5 * s, gy + 0.3 * s), fill=coat)
    if sailor:
        knit = p.lit((225, 215, 190))
        d.polygon([(cx - 0.13 * s, gy - 0.34 * s), (cx + 0.13 * s, gy - 0.34 * s), (cx + 0.05 * s, gy),
                   (cx - 0.05 * s, gy)], fill=knit)
        for sgn in (-1, 1):
            d.polygon([(cx + sgn * 0.12 * s, gy - 0.33 * s), (cx + sgn * 0.3 * s, gy - 0.22 * s),
                       (cx + sgn * 0.1 * s, gy - 0.02 * s), (cx + sgn * 0.04 * s, gy)],
                      fill=shade(coat, 1.5))
            for k in range(2):
                bx, by = cx + sgn * 0.17 * s, gy - (0.12 - 0.1 * k) * s
                d.ellipse((bx - 0.025 * s, by - 0.025 * s, bx + 0.025 * s, by + 0.025 * s),
                          fill=p.lit((215, 175, 60)))
    d.rectangle((cx - 0.08 * s, gy - 0.5 * s, cx + 0.08 * s, gy - 0.3 * s), fill=shade(skin, 0.9))
    hx, hy = cx, gy - 0.65 * s
    if cap is None:
        d.ellipse((hx - 0.25 * s, hy - 0.3 * s, hx + 0.25 * s, hy + 0.15 * s), fill=hair)
    else:  # grey hair showing under the cap, over the ears
        for sgn in (-1, 1):
            d.ellipse((hx + sgn * 0.19 * s - 0.06 * s, hy - 0.16 * s, hx + sgn * 0.19 * s + 0.06 * s,
                       hy + 0.06 * s), fill=hair)
    d.ellipse((hx - 0.18 * s, hy - 0.22 * s, hx + 0.18 * s, hy + 0.24 * s), fill=skin)
    if cap is None:
        d.chord((hx - 0.2 * s, hy - 0.3 * s, hx + 0.2 * s, hy + 0.02 * s), 180, 360, fill=hair)
    brow_w = max(1, int(0.012 * s))
    for sgn in (-1, 1):
        ex, ey = hx + sgn * 0.075 * s, hy - 0.01 * s
        d.ellipse((ex - 0.04 * s, ey - 0.022 * s, ex + 0.04 * s, ey + 0.022 * s), fill=p.lit((250, 250, 250)))
        d.ellipse((ex - 0.018 * s, ey - 0.018 * s, ex + 0.018 * s, ey + 0.018 * s), fill=(35, 30, 30))
        if old or sailor:  # bushy and grey
            d.polygon(ellipse_points(ex, ey - 0.055 * s, 0.055 * s, 0.018 * s, sgn * 0.18, 14), fill=hair)
        else:
            d.line((ex - 0.05 * s, ey - 0.05 * s, ex + 0.04 * s, ey - 0.055 * s), fill=shade(hair, 0.8),
                   width=brow_w)
    d.line((hx, hy + 0.01 * s, hx + f * 0.02 * s, hy + 0.08 * s), fill=shade(skin, 0.75),
           width=max(1, int(0.008 * s)))
    if old or sailor:
        _wrinkles(p, hx, hy, s, skin)
    if beard:
        # Full and white: cheeks to below the chin, a moustache over the mouth.
        d.chord((hx - 0.2 * s, hy - 0.14 * s, hx + 0.2 * s, hy + 0.38 * s), 0, 180, fill=hair)
        d.polygon([(hx - 0.2 * s, hy + 0.1 * s), (hx - 0.18 * s, hy - 0.06 * s), (hx - 0.13 * s,
                                                                                  hy + 0.1 * s)],
                  fill=hair)
        d.polygon([(hx + 0.2 * s, hy + 0.1 * s), (hx + 0.18 * s, hy - 0.06 * s), (hx + 0.13 * s,
                                                                                  hy + 0.1 * s)],
                  fill=hair)
        d.ellipse((hx - 0.1 * s, hy + 0.07 * s, hx + 0.1 * s, hy + 0.14 * s), fill=shade(hair, 0.92))
        d.arc((hx - 0.045 * s, hy + 0.12 * s, hx + 0.045 * s, hy + 0.17 * s), 20, 160,
              fill=p.lit((120, 60, 60)), width=max(1, int(0.012 * s)))
        if sailor and rng.random() < 0.5:  # a pipe from the corner of the mouth
            px0, py0 = hx + f * 0.04 * s, hy + 0.15 * s
            d.line((px0, py0, px0 + f * 0.16 * s, py0 + 0.04 * s), fill=p.lit((70, 40, 25)),
                   width=max(1, int(0.02 * s)))
            d.rectangle(sorted_box(px0 + f * 0.14 * s, py0 - 0.04 * s, px0 + f * 0.2 * s, py0 + 0.06 * s),
                        fill=p.lit((90, 50, 30)))
    else:
        d.arc((hx - 0.06 * s, hy + 0.06 * s, hx + 0.06 * s, hy + 0.15 * s), 20, 160,
              fill=p.lit((170, 80, 80)), width=max(1, int(0.012 * s)))
    if cap == "captain":
        top, band_c, peak = p.lit((238, 238, 232)), p.lit((25, 30, 55)), p.lit((15, 15, 20))
        d.polygon([(hx - 0.21 * s, hy - 0.2 * s), (hx - 0.29 * s, hy - 0.35 * s), (hx + 0.29 * s,
                                                                                   hy - 0.35 * s),
                   (hx + 0.21 * s, hy - 0.2 * s)], fill=top)
        d.ellipse((hx - 0.29 * s, hy - 0.4 * s, hx + 0.29 * s, hy - 0.3 * s), fill=top)
        d.rectangle((hx - 0.21 * s, hy - 0.24 * s, hx + 0.21 * s, hy - 0.16 * s), fill=band_c)
        d.chord((hx - 0.2 * s, hy - 0.24 * s, hx + 0.2 * s, hy - 0.08 * s), 0, 180, fill=peak)
        d.ellipse((hx - 0.035 * s, hy - 0.25 * s, hx + 0.035 * s, hy - 0.19 * s), fill=p.lit((220, 180, 60)))
    elif cap == "knit":
        wool = p.lit(rng.choice([(30, 40, 80), (150, 35, 40), (40, 45, 50)]))
        d.chord((hx - 0.21 * s, hy - 0.42 * s, hx + 0.21 * s, hy - 0.02 * s), 180, 360, fill=wool)
        d.rectangle((hx - 0.215 * s, hy - 0.24 * s, hx + 0.215 * s, hy - 0.14 * s), fill=shade(wool, 1.25))
        p.hatch((hx - 0.215 * s, hy - 0.24 * s, hx + 0.215 * s, hy - 0.14 * s), 5, shade(wool, 0.7),
                alpha=140, vertical=True)
    # Hair strands and the weave of the cloth: 1-output-pixel lines.
    rng_f, n = p.frng, p.count(0.12 * s * s, 5)
    tones = [shade(hair, 0.6), shade(hair, 1.4) if not old else shade(hair, 0.8)]
    for _ in range(n if cap is None else n // 3):
        a = rng_f.uniform(math.pi, math.tau)
        r0 = rng_f.uniform(0.1, 0.24) * s
        x0, y0 = hx + r0 * math.cos(a), hy - 0.05 * s + r0 * math.sin(a) * 1.1
        d.line((x0, y0, x0 + 0.04 * s * math.cos(a + 1.4), y0 + 0.04 * s * math.sin(a + 1.4)),
               fill=rng_f.choice(tones), width=p.stroke(1))
    if beard:
        p.strokes_in_ellipse(hx, hy + 0.2 * s, 0.16 * s, 0.12 * s, p.count(0.08 * s * s, 6), 9 * p.px,
                             [shade(hair, 0.8), shade(hair, 0.9)], angle=math.pi / 2, spread=0.3)
    p.hatch((cx - 0.42 * s, gy - 0.25 * s, cx + 0.42 * s, gy + 0.3 * s), 4, shade(coat, 0.7), alpha=80)


def _wrinkles(p: Painter, hx: float, hy: float, s: float, skin: RGB) -> None:
    """Forehead lines and crow's feet: coarse on every tier, finer ones where detail allows."""
    d, line = p.draw, shade(skin, 0.72)
    width = max(1, int(0.007 * s))
    for k in range(3):
        y = hy - (0.1 + 0.035 * k) * s
        d.line(bezier((hx - 0.1 * s, y + 0.01 * s), (hx, y - 0.012 * s), (hx + 0.1 * s, y + 0.01 * s), 6),
               fill=line, width=width)
    for sgn in (-1, 1):
        x = hx + sgn * 0.13 * s
        for k in (-1, 0, 1):
            d.line((x, hy - 0.01 * s + k * 0.012 * s, x + sgn * 0.04 * s, hy - 0.01 * s + k * 0.025 * s),
                   fill=line, width=width)
        d.line((hx + sgn * 0.05 * s, hy + 0.06 * s, hx + sgn * 0.09 * s, hy + 0.13 * s),
               fill=mix(line, skin, 0.3), width=width)
    if p.fine:
        rng_f = p.frng
        for _ in range(p.count(0.02 * s * s, 4)):
            x, y = hx + rng_f.uniform(-0.14, 0.14) * s, hy + rng_f.uniform(-0.16, 0.1) * s
            ln = rng_f.uniform(4, 10) * p.px
            d.line((x, y, x + ln, y + rng_f.uniform(-0.3, 0.3) * ln), fill=(*line, 120), width=p.stroke(1))

