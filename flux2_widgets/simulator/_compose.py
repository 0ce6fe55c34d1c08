"""Laying out the scene a prompt describes: sky, ground, backdrop, subjects, weather.

Three settings: a *room* (a reading nook, a library, a kitchen shelf) drawn whole
by ``_rooms``; a *still life* (a teapot, a bowl of ramen, a mug, a pocket watch
in a hand) large on a table against a wall; and a *landscape* for everything
else (a fox in the snow, a lighthouse on its cliff, boats in a harbour, a road
into the desert, koi under autumn trees, a portrait against the sea). Every
choice comes from the layout generator, so a take keeps its composition across
tiers and resolutions; nothing tall is placed where the frame would cut its top.
"""

from __future__ import annotations

import colorsys
import math
import random
from dataclasses import replace

from ._motifs import MOTIFS, STILL_LIFE
from ._objects import BOWLS, TEAPOTS, luma
from ._paint import RGB, Painter, Pose, mix, shade
from ._places import cliff, far_shore, mesas, mountain_range, pier, road, rocks, skyline, tree
from ._rooms import ROOMS
from ._scene import Scene

__all__ = ["compose", "rain"]

_GROUND: dict[str, RGB] = {"grass": (75, 135, 55), "snow": (236, 239, 245), "sand": (222, 192, 138),
                           "water": (45, 95, 145), "indoor": (150, 100, 62), "street": (72, 72, 78)}
_WALL = (205, 190, 165)
#: Space kept between the top of the frame and the top of anything tall, as a share of its height.
_HEADROOM = 0.06


def compose(scene: Scene, p: Painter, rng: random.Random) -> None:
    """Draw the scene the prompt describes onto ``p``'s canvas."""
    subjects = [s for s in scene.subjects if s in MOTIFS or s in ROOMS]
    first = subjects[0] if subjects else None
    if first in ROOMS:
        _room(scene, p, rng, first)
    elif first in STILL_LIFE or scene.ground == "indoor":
        _still_life(scene, p, rng, subjects)
    else:
        _landscape(scene, p, rng, subjects)
    p.apply_glows()


def palette(rng: random.Random, n: int = 6) -> list[RGB]:
    hue = rng.random()
    spread = rng.uniform(0.08, 0.45)
    out = []
    for i in range(n):
        h = (hue + spread * i / n + rng.uniform(-0.03, 0.03)) % 1.0
        s = rng.uniform(0.45, 0.95)
        v = rng.uniform(0.35, 0.95)
        r, g, b = colorsys.hsv_to_rgb(h, s, v)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    # One complementary accent so prompts differ by more than a hue shift.
    r, g, b = colorsys.hsv_to_rgb((hue + 0.5) % 1.0, 0.8, 0.9)
    out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


# -- rooms and still lifes -------------------------------------------------------------------
def _room(scene: Scene, p: Painter, rng: random.Random, name: str) -> None:
    gain = scene.light.gain
    if p.dark:  # lamplight indoors: warm and dim, not the night outside
        p.gain = (0.92, 0.78, 0.58)
    elif scene.rain or scene.light.name == "storm":
        p.gain = (0.86, 0.85, 0.86)
    else:
        p.gain = gain
    ROOMS[name](p, rng, scene)


def _still_life(scene: Scene, p: Painter, rng: random.Random, subjects: list[str]) -> None:
    """The subject large on a table, against a wall of the other brightness: a dark
    teapot before a pale wall, a white mug before a dark one (a pencil sketch keeps
    only brightness, so hue alone would not do). Ramen and a watch get a dark wall,
    for steam and gold to show."""
    w, h, u = p.w, p.h, p.u
    first = subjects[0]
    horizon = h * rng.uniform(0.5, 0.62)
    hues = palette(rng)
    colours = [*scene.colours] if scene.colours else hues
    tint = colours[0]
    body = scene.colours[0] if scene.colours else \
        {"teapot": rng.choice(TEAPOTS), "ramen": rng.choice(BOWLS)}.get(first, (240, 238, 232))
    # The wall takes the take's own hue as well as the colour words': each take its own room.
    wall = p.lit(mix(mix(_WALL, tint, 0.4 if scene.colours else 0.0), hues[1], 0.35))
    wood = rng.choice([_GROUND["indoor"], (120, 78, 50), (170, 125, 85), (95, 70, 55)])
    table = mix(wood, tint, 0.45 if scene.colours else 0.0)
    if first in ("ramen", "watch") or luma(body) > 140:
        wall, table = shade(wall, 0.5), shade(table, 0.7)
    else:
        wall, table = mix(wall, (255, 255, 255), 0.3), mix(table, (255, 240, 215), 0.45)
    held = first == "watch" and "hand" in scene.traits
    # A watch held up in a hand needs no table: the wall fills the frame.
    p.vgradient((0, 0, w, (h if held else int(horizon)) + 1), [shade(wall, 0.85), wall, shade(wall, 1.05)])
    if not held:
        _ground(p, rng, "indoor", horizon, tint, scene, base=table)
    if not scene.subjects:
        _shapes(p, random.Random(rng.random()), colours, 10 if p.fine else 5, horizon)
    slots = [0.3, 0.5, 0.7]
    rng.shuffle(slots)
    placed: list[tuple[float, str, Pose]] = []
    for i, name in enumerate(subjects):
        motif = MOTIFS[name]
        primary = i == 0
        colour = body if primary and (scene.colours or name in ("teapot", "ramen")) else None
        facing = rng.choice((-1, 1))
        s = u * motif.size * rng.uniform(0.85, 1.15) * (1.0 if primary else 0.45)
        if primary and name in ("teapot", "ramen", "watch"):
            # The subject, large and near the middle; a teapot's spout and handle stay in frame.
            cx = w * rng.uniform(0.44, 0.56)
            s = min(s, 0.55 * w / 1.3)
            gy = horizon + (h - horizon) * (0.42 if name == "ramen" else 0.55)
            if name == "watch":
                s = min(u * 0.8, h * 0.75) * rng.uniform(0.9, 1.05)
                gy = h * rng.uniform(0.42, 0.48) if held else gy
        else:
            near = rng.uniform(0.5, 0.8) if primary else rng.uniform(0.1, 0.3)
            cx = w * (slots[i % 3] + rng.uniform(-0.06, 0.06))
            gy = horizon + (h - horizon) * near
        placed.append((gy, name, Pose(_in_frame(cx, s * motif.half_width, w), gy, s, facing, colour,
                                      scene.traits)))
    for _gy, name, pose in sorted(placed, key=lambda e: e[0]):
        MOTIFS[name].draw(p, rng, pose)


# -- landscapes ------------------------------------------------------------------------------
def _landscape(scene: Scene, p: Painter, rng: random.Random, subjects: list[str]) -> None:
    w, h, u = p.w, p.h, p.u
    traits = scene.traits
    first = subjects[0] if subjects else None
    sailor = first == "person" and "sailor" in traits
    kind = scene.ground or ("water" if sailor else None) or (MOTIFS[first].ground if first else None) or \
        ("street" if "city" in scene.subjects else "grass")
    portrait = first == "person"
    low, high = {"koi": (0.2, 0.28), "lighthouse": (0.52, 0.64)}.get(first or "", (0.45, 0.68))
    horizon = h * rng.uniform(low, high)
    colours = [*scene.colours] if scene.colours else palette(rng)
    tint = colours[0]
    _sky(p, scene, rng, horizon, tint, amount=0.2 if kind == "snow" else None)
    if scene.neon and "city" not in scene.subjects:
        _neon_signs(p, rng, horizon)
    if not scene.subjects:
        # No subject we can draw: abstract shapes keep prompts apart. Pro gets the
        # first few of the same shapes Flex gets.
        shapes = random.Random(rng.random())
        _shapes(p, shapes, colours, 10 if p.fine else 5, horizon)
    desert = kind == "sand" and ("road" in scene.subjects or "cactus" in scene.subjects)
    if "mountain" in scene.subjects:
        mountain_range(p, rng, horizon, scene.colours[0] if scene.colours else None)
    elif desert:
        mesas(p, rng, horizon)
    elif "city" not in scene.subjects and kind in ("grass", "snow", "sand"):
        _hills(p, rng, horizon, _GROUND[kind] if kind == "snow" else
               mix(_GROUND[kind], tint, 0.3 if scene.colours else 0.1))
    if "city" in scene.subjects:
        skyline(p, rng, horizon, scene.colours[0] if scene.colours else None, scene.neon)
    _ground(p, rng, kind, horizon, tint, scene)
    if "road" in scene.subjects:
        road(p, rng, horizon, w * rng.uniform(0.42, 0.58))
    harbour = "boat" in subjects and "harbour" in traits
    if harbour:
        far_shore(p, rng, horizon)
        pier(p, rng, horizon, rng.choice((-1, 1)))
    if first == "koi":
        _pond_bank(p, rng, horizon, traits)
    # (ground y, motif, pose): drawn far to near.
    placed: list[tuple[float, str, Pose]] = []
    slots = [0.3, 0.5, 0.7]
    rng.shuffle(slots)
    for i, name in enumerate(subjects):
        motif = MOTIFS[name]
        primary = i == 0
        colour = scene.colours[0] if primary and scene.colours else None
        facing = rng.choice((-1, 1))
        if primary and portrait:
            s = min(h * 0.85, w * 1.0)
            placed.append((h * 1.02, name, Pose(w * rng.uniform(0.4, 0.6), h * 1.02, s, facing, colour,
                                                traits)))
            if sailor:  # a boat out on the sea behind
                placed.append((horizon, "boat", Pose(w * rng.choice((0.15, 0.85)), horizon + 0.01 * h,
                                                     u * 0.12,
                                                     facing, None)))
            continue
        s = u * motif.size * rng.uniform(0.85, 1.15) * (1.0 if primary else 0.55)
        near = rng.uniform(0.5, 0.8) if primary else rng.uniform(0.1, 0.3)
        if name in ("house", "lighthouse", "tree", "stall") and primary:
            near = rng.uniform(0.15, 0.4)
        cx = w * (slots[i % 3] + rng.uniform(-0.06, 0.06))
        gy = horizon + (h - horizon) * near
        if name == "koi":
            placed += _koi_school(p, rng, horizon, s, colour)
            continue
        if name == "boat" and "paper" in traits:
            s *= 0.8  # a paper boat is broad for its height
        if name == "lighthouse" and primary:
            cx, gy = _lighthouse_ground(p, rng, horizon, cx, gy, s, "cliff" in traits)
        if motif.reach:
            headroom = _HEADROOM * (1.8 if name == "lighthouse" else 1.0)  # sky over the lamp room
            s = min(s, (gy - headroom * h) / motif.reach)
        placed.append((gy, name, Pose(cx, gy, s, facing, colour, traits)))
    if "tree" in subjects:  # a few more, further back: a tree rarely stands alone
        for _ in range(rng.randint(1, 3)):
            placed.append((horizon + (h - horizon) * 0.05, "tree",
                           Pose(rng.uniform(0, w), horizon + (h - horizon) * 0.05,
                                u * 0.25 * rng.uniform(0.7, 1.2),
                                1, None, traits)))
    if harbour:  # a busy harbour: more boats at anchor, further out
        for k in range(rng.randint(2, 4)):
            near = rng.uniform(0.05, 0.45)
            gy = horizon + (h - horizon) * near
            kind_t = traits | ({"fishing"} if k >= 2 and rng.random() < 0.5 else set())
            placed.append((gy, "boat", Pose(w * rng.uniform(0.08, 0.92), gy, u * 0.55 * (0.3 + 0.5 * near),
                                            rng.choice((-1, 1)), None, frozenset(kind_t))))
    if desert:
        for sgn in (-1, 1):
            gy = horizon + (h - horizon) * rng.uniform(0.1, 0.4)
            x = w * (0.5 + sgn * rng.uniform(0.3, 0.42))
            placed.append((gy, "cactus", Pose(x, gy, u * 0.35 * (0.4 + (gy - horizon) / (h - horizon)), 1,
                                              None)))
    if "lanterns" in traits and kind == "water":  # lanterns afloat round the subject, clear of it
        keep_clear = [(pose.cx, pose.s) for _gy, _n, pose in placed[:1]]
        for _ in range(rng.randint(4, 7)):
            near = rng.uniform(0.1, 0.9)
            gy = horizon + (h - horizon) * near
            x = rng.uniform(0.05, 0.95) * w
            for bx, bs in keep_clear:
                if abs(x - bx) < 0.8 * bs:
                    x = bx + math.copysign(0.8 * bs + rng.uniform(0, 0.1) * w, x - bx if x != bx else 1)
            x = min(max(x, 0.14 * w), 0.86 * w)  # their glow stays off the frame's edges
            placed.append((gy, "lantern", Pose(x, gy, u * 0.09 * (0.4 + near), 1, None,
                                               frozenset({"floating"}))))
    for _gy, name, pose in sorted(placed, key=lambda e: e[0]):
        motif = MOTIFS[name]
        motif.draw(p, rng, replace(pose, cx=_in_frame(pose.cx, pose.s * motif.half_width, w)))
    if scene.rain:
        rain(p)


def _in_frame(cx: float, half: float, w: float) -> float:
    """``cx`` moved in so that a motif ``half`` wide either side stays in the frame."""
    margin = 0.02 * w
    if 2 * (half + margin) >= w:
        return w / 2
    return min(max(cx, half + margin), w - half - margin)


def _lighthouse_ground(p: Painter, rng: random.Random, horizon: float, cx: float, gy: float, s: float,
                       on_cliff: bool) -> tuple[float, float]:
    """Where a lighthouse stands: on a cliff top to one side, or on rocks in the sea."""
    w, h = p.w, p.h
    if not on_cliff:
        rocks(p, rng, cx, gy, s)
        return cx, gy
    side = -1 if cx < w / 2 else 1
    cx = w * (0.5 + side * rng.uniform(0.18, 0.28))
    top_y = horizon - h * rng.uniform(0.03, 0.09)
    cliff(p, rng, side, cx - side * w * rng.uniform(0.12, 0.18), top_y, horizon)
    return cx, top_y + 0.004 * h


def _pond_bank(p: Painter, rng: random.Random, horizon: float, traits: frozenset[str]) -> None:
    """The far bank of a pond: grass and stones, trees (autumn ones when it is autumn),
    lily pads and fallen leaves on the water."""
    w, h, d = p.w, p.h, p.draw
    bank = p.lit((80, 125, 60) if "autumn" not in traits else (120, 120, 60))
    pts = [(0.0, horizon - 0.06 * h)] + [(w * k / 8, horizon + 0.015 * h + 0.01 * h * math.sin(k * 1.7))
                                          for k in range(9)] + [(float(w), horizon - 0.06 * h)]
    d.polygon(pts, fill=bank)
    for k in range(9):  # stones along the water's edge
        x, y = w * (k + rng.uniform(0.1, 0.9)) / 9, horizon + 0.02 * h
        r = rng.uniform(0.012, 0.025) * w
        d.ellipse((x - r, y - r * 0.6, x + r, y + r * 0.6),
                  fill=p.lit(rng.choice([(150, 148, 140), (120, 118, 112)])))
    for _ in range(rng.randint(3, 5)):
        tree(p, rng, Pose(rng.uniform(0.03, 0.97) * w, horizon, p.u * rng.uniform(0.18, 0.28), 1, None,
                          traits))
    for _ in range(rng.randint(3, 6)):  # lily pads, each with its notch
        x, y = rng.uniform(0.05, 0.95) * w, rng.uniform(horizon + 0.08 * h, 0.95 * h)
        r = rng.uniform(0.03, 0.06) * p.u
        start = rng.uniform(0, 360)
        d.pieslice((x - r, y - r * 0.6, x + r, y + r * 0.6), start, start + 320, fill=p.lit((60, 120, 60)))
    if "autumn" in traits:
        for _ in range(rng.randint(10, 18)):
            x, y = rng.uniform(0, w), rng.uniform(horizon + 0.05 * h, h)
            r = rng.uniform(0.008, 0.015) * p.u
            a = rng.uniform(0, math.pi)
            leaf = p.lit(rng.choice([(220, 120, 30), (200, 60, 30), (230, 180, 50)]))
            d.polygon([(x + r * 1.6 * math.cos(a), y + r * 1.6 * math.sin(a)),
                       (x - r * 0.7 * math.sin(a), y + r * 0.7 * math.cos(a)),
                       (x - r * 1.6 * math.cos(a), y - r * 1.6 * math.sin(a)),
                       (x + r * 0.7 * math.sin(a), y - r * 0.7 * math.cos(a))], fill=leaf)


def _koi_school(p: Painter, rng: random.Random, horizon: float, s: float,
                colour: RGB | None) -> list[tuple[float, str, Pose]]:
    """Three to five koi spread over the water, seen from above."""
    w, h = p.w, p.h
    n = rng.randint(3, 5)
    out = []
    for k in range(n):
        x = w * (k + rng.uniform(0.25, 0.75)) / n
        y = horizon + (h - horizon) * rng.uniform(0.22, 0.85)
        out.append((y, "koi", Pose(x, y, s * rng.uniform(0.75, 1.1), 1, colour)))
    return out


# -- sky, ground, weather -------------------------------------------------------------------------
def _sky(p: Painter, scene: Scene, rng: random.Random, horizon: float, tint: RGB,
         amount: float | None = None) -> None:
    light = scene.light
    top, low = light.sky_top, light.sky_low
    if amount is None:
        amount = 0.6 if scene.colours else 0.15
    top = mix(top, tint, amount)
    low = mix(low, scene.colours[-1] if scene.colours else tint, amount * 0.8)
    stops = [top, mix(top, low, rng.uniform(0.3, 0.6)), low]
    p.vgradient((0, 0, p.w, int(horizon) + 1), stops)
    u, d = p.u, p.draw
    if light.sun is not None and light.name != "storm":
        sx, r = rng.uniform(0.15, 0.85) * p.w, 0.06 * u
        sy = horizon - light.sun_height * horizon
        p.glow("ellipse", (sx - 3 * r, sy - 3 * r, sx + 3 * r, sy + 3 * r), shade(light.sun, 0.6))
        d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=light.sun)
    if light.moon:
        mx, my, r = rng.uniform(0.15, 0.85) * p.w, horizon * rng.uniform(0.15, 0.4), 0.05 * u
        p.glow("ellipse", (mx - 3 * r, my - 3 * r, mx + 3 * r, my + 3 * r), (70, 75, 90))
        # The sky's own colour there bites the crescent out.
        sky = p.img.getpixel((min(p.w - 1, int(mx + r)), max(0, int(my - r))))
        d.ellipse((mx - r, my - r, mx + r, my + r), fill=(240, 238, 215))
        d.ellipse((mx - 0.55 * r, my - 1.15 * r, mx + 1.45 * r, my + 0.85 * r), fill=sky)
    if light.stars:
        # Pro gets a few coarse stars; Flex a dense field of 1-output-pixel ones.
        n = p.count(p.w * horizon, 0.6) or 30
        frng, dot = p.frng, max(0.5, p.px * 0.8)
        for _ in range(n):
            x, y = frng.uniform(0, p.w), frng.uniform(0, horizon * 0.9)
            v = frng.randint(150, 255)
            d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(v, v, min(255, v + 20)))
    if light.name in ("day", "dawn", "golden", "storm"):
        cloud = (*p.lit((250, 250, 250) if light.name != "storm" else (150, 152, 160)), 170)
        for _ in range(rng.randint(1, 3) + (3 if light.name == "storm" else 0)):
            cx, cy, r = rng.uniform(0, p.w), rng.uniform(0.1, 0.6) * horizon, rng.uniform(0.04, 0.08) * u
            for k in range(4):
                ox = (k - 1.5) * r * 0.9
                d.ellipse((cx + ox - r, cy - r * (1.2 if k in (1, 2) else 0.8), cx + ox + r, cy + r * 0.6),
                          fill=cloud)
    p.apply_glows()  # sun and moon light the sky only: the ground is drawn over them


def _hills(p: Painter, rng: random.Random, horizon: float, colour: RGB) -> None:
    for layer in range(2):
        amp, phase = rng.uniform(0.03, 0.08) * p.h, rng.uniform(0, math.tau)
        freq = rng.uniform(1.5, 3.5)
        lift = (0.06 - 0.04 * layer) * p.h
        pts = [(0.0, horizon + 1)]
        for k in range(33):
            x = p.w * k / 32
            pts.append((x, horizon - lift - amp * (0.5 + 0.5 * math.sin(phase + freq * math.tau * k / 32))))
        pts.append((float(p.w), horizon + 1))
        p.draw.polygon(pts, fill=p.lit(shade(colour, 0.75 + 0.15 * layer)))


def _ground(p: Painter, rng: random.Random, kind: str, horizon: float, tint: RGB, scene: Scene,
            base: RGB | None = None) -> None:
    snow = kind == "snow"
    # Snow stays white whatever the colour words, and takes only half the light's tint.
    base = base or mix(_GROUND[kind], tint, 0.45 if scene.colours and not snow else 0.0)
    far = mix(base, scene.light.sky_low, 0.12 if snow else 0.35) if kind in ("water",
                                                                             "snow") else shade(base, 0.9)
    lit = p.pale if snow else p.lit
    near = shade(base, 0.92 if snow else 0.78)
    p.vgradient((0, int(horizon), p.w, p.h), [lit(far), lit(base), lit(near)])
    d, frng, area = p.draw, p.frng, p.w * (p.h - horizon)
    depth = p.h - horizon

    def at_depth() -> tuple[float, float, float]:
        t = frng.random()
        return frng.uniform(0, p.w), horizon + depth * t * t ** 0.2, 0.3 + 0.7 * t

    if kind == "grass":
        tones = [p.lit(shade(base, f)) for f in (0.6, 0.8, 1.25, 1.45)]
        for _ in range(p.count(area, 3)):
            x, y, near_t = at_depth()
            ln = (5 + 10 * near_t) * p.px
            d.line((x, y, x + frng.uniform(-0.4, 0.4) * ln, y - ln), fill=frng.choice(tones),
                   width=p.stroke(1))
    elif snow:
        # Wind-carved ripples in blue shadow and glints: the crisp texture of fresh snow.
        ripple = lit((186, 200, 228))
        for _ in range(p.count(area, 2.4)):
            x, y, near_t = at_depth()
            ln = (6 + 22 * near_t) * p.px
            d.arc((x - ln, y - ln * 0.18, x + ln, y + ln * 0.18), 200, 340, fill=ripple, width=p.stroke(1))
        for _ in range(p.count(area, 1.2)):
            x, y, _near = at_depth()
            d.point((x, y), fill=(255, 255, 255) if frng.random() < 0.6 else lit((185, 200, 228)))
    elif kind == "sand":
        for _ in range(p.count(area, 0.5)):
            x, y, near_t = at_depth()
            ln = (10 + 25 * near_t) * p.px
            d.arc((x - ln, y - ln * 0.2, x + ln, y + ln * 0.2), 200, 340, fill=p.lit(shade(base, 0.8)),
                  width=p.stroke(1))
    elif kind == "water":
        tones = [p.lit(shade(base, 0.7)), p.lit(mix(base, scene.light.sky_low, 0.6)),
                 p.lit(shade(base, 1.3))]
        # Pro: a few coarse ripples so it still reads as water; Flex: many fine ones.
        n = p.count(area, 1.5) or 40
        for _ in range(n):
            x, y, near_t = at_depth()
            ln = (8 + 30 * near_t) * p.px * (1 if p.fine else 3)
            d.line((x - ln, y, x + ln, y), fill=frng.choice(tones), width=p.stroke(1 if p.fine else 3))
        if scene.light.name == "storm":  # whitecaps: the layout's, so both tiers have them
            for _ in range(rng.randint(14, 22)):
                t = rng.random()
                x, y = rng.uniform(0, p.w), horizon + depth * t
                ln = (0.01 + 0.05 * t) * p.w
                d.arc((x - ln, y - ln * 0.25, x + ln, y + ln * 0.25), 200, 340, fill=p.lit((235, 240, 245)),
                      width=max(1, int(0.006 * p.h * (0.3 + t))))
    elif kind == "indoor":
        d.line((0, horizon, p.w, horizon), fill=p.lit(shade(base, 1.3)), width=max(1, int(0.006 * p.h)))
        p.hatch((0, horizon + 2, p.w, p.h), 4, shade(base, 0.7), alpha=70)
    elif kind == "street":
        dash = max(2, int(0.01 * p.h))
        y = horizon + depth * 0.55
        for k in range(0, 12, 2):
            d.rectangle((p.w * k / 11, y, p.w * (k + 0.8) / 11, y + dash), fill=p.lit((220, 200, 90)))
        for _ in range(p.count(area, 1.0)):
            x, y, _near = at_depth()
            d.point((x, y), fill=p.lit(shade(base, frng.choice((0.6, 1.4)))))


def rain(p: Painter) -> None:
    """Rain across the whole picture: thin slanted streaks (Pro fewer, coarser)."""
    n = p.count(p.w * p.h, 0.35) or 80
    ln, frng = 0.05 * p.h, p.frng
    for _ in range(n):
        x, y = frng.uniform(-0.1, 1.0) * p.w, frng.uniform(-0.1, 1.0) * p.h
        p.draw.line((x, y, x + 0.2 * ln, y + ln), fill=(200, 210, 230, 90), width=p.stroke(1))


def _neon_signs(p: Painter, rng: random.Random, horizon: float) -> None:
    for _ in range(rng.randint(2, 4)):
        colour = rng.choice([(255, 40, 190), (40, 230, 255), (120, 255, 90)])
        cx, cy = rng.uniform(0.1, 0.9) * p.w, rng.uniform(0.25, 0.85) * horizon
        r = rng.uniform(0.04, 0.1) * p.u
        box = (cx - r, cy - r * 0.5, cx + r, cy + r * 0.5)
        (p.draw.ellipse if rng.random() < 0.5 else p.draw.rectangle)(box, outline=colour,
                                                                       width=max(1, int(0.008 * p.u)))
        p.glow("rect", box, colour)


def _shapes(p: Painter, rng: random.Random, colours: list[RGB], count: int, top: float) -> None:
    """Translucent abstract shapes: what a prompt with no known subject gets."""
    w, h = p.w, p.h
    for _ in range(count):
        color = (*p.lit(rng.choice(colours)), rng.randint(90, 190))
        kind = rng.random()
        cx, cy = rng.uniform(0, w), rng.uniform(0, top)
        r = rng.uniform(0.05, 0.2) * min(w, h)
        # Fine tiers give each shape a crisp 1-pixel rim.
        rim = (*shade(color[:3], 0.6), 255) if p.fine else None
        width = p.stroke(1)
        if kind < 0.45:
            p.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color, outline=rim, width=width)
        elif kind < 0.75:
            sides = rng.randint(3, 6)
            turn = rng.random() * math.tau
            pts = [(cx + r * math.cos(turn + k * math.tau / sides),
                    cy + r * math.sin(turn + k * math.tau / sides)) for k in range(sides)]
            p.draw.polygon(pts, fill=color, outline=rim, width=width)
        else:
            p.draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=color, outline=rim,
                             width=width)
