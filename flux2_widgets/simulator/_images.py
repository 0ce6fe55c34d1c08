"""Procedural stand-in images: deterministic, cheap, and obviously simulated.

The picture is a function of (seed, prompt, variation, tier, resolution, size,
sources) and nothing else, so one task always gives the same bytes, while each
task of a batch (``variation``) is its own take on the prompt. What is drawn
follows the prompt's words (``_scene``): colours set the palette, light words
the lighting, a handful of subjects a simple motif (``_motifs``).

Tiers and resolutions differ the way a comparison should show them: Pro
composes on a half-size canvas scaled up (soft edges, few fine strokes, no
decorations); Flex and Max draw at full size, crisp, with fine detail sized in
output pixels (fur, shingles, leaves, stars, ripples), so a 2k image holds
strokes a 1k image has no room for. The layout comes from the prompt and the
take only, so a Pro-vs-Flex or 1k-vs-2k pair shows the same scene.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from ._motifs import MOTIFS, Painter, mix, mountain_range, shade, skyline
from ._scene import Scene, read_prompt

__all__ = ["SourceRef", "RenderSpec", "Rendered", "Decoded", "render", "decode_upload", "THUMB_MAX"]

#: Longest side of the thumbnail kept next to each PNG, used when a remix
#: reads a local source: decoding a 4 MP PNG per source would cost more than
#: the whole render.
THUMB_MAX = 256

#: How many times smaller than the output each tier composes (Pro: soft after
#: the upscale), and how much fine detail it adds (0: none).
_WORK_SCALE = {"pro": 2, "flex": 1, "max": 1}
_DETAIL = {"pro": 0.3, "flex": 1.0, "max": 1.6}
#: Motif height as a share of the canvas's short side.
_MOTIF_SIZE = {"fox": 0.5, "cat": 0.5, "house": 0.5, "tree": 0.6, "car": 0.42, "boat": 0.55,
               "person": 0.6, "lighthouse": 0.75, "mug": 0.6}
_GROUND = {"grass": (75, 135, 55), "snow": (232, 236, 244), "sand": (222, 192, 138),
           "water": (45, 95, 145), "indoor": (150, 100, 62), "street": (72, 72, 78)}
_WALL = (205, 190, 165)

_PNG_LEVEL = 1  # fastest zlib level: these images are throwaway


@dataclass(frozen=True)
class SourceRef:
    """A remix source: its URL, and its thumbnail when it lives on our CDN."""

    url: str
    thumb: Image.Image | None = None


@dataclass(frozen=True)
class RenderSpec:
    prompt: str
    tier: str
    resolution: str
    aspect_ratio: str
    size: tuple[int, int]
    seed: int = 0
    #: Which take on the prompt: the n-th task of the same request gets ``n``.
    variation: int = 0
    sources: tuple[SourceRef, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rendered:
    png: bytes
    size: tuple[int, int]
    thumb: Image.Image


def _rng(spec: RenderSpec, stream: str = "layout") -> random.Random:
    # Only seed + prompt + variation pick the palette and layout, so one take
    # looks the same across tiers/resolutions while tier/res change the detail.
    digest = hashlib.sha256(f"{stream}\x00{spec.seed}\x00{spec.variation}\x00{spec.prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _palette(rng: random.Random, n: int = 6) -> list[tuple[int, int, int]]:
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


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _shapes(p: Painter, rng: random.Random, palette: list, count: int, top: float) -> None:
    """Translucent abstract shapes: what a prompt with no known subject gets."""
    w, h = p.w, p.h
    for _ in range(count):
        color = (*p.lit(rng.choice(palette)), rng.randint(90, 190))
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


def _sky(p: Painter, scene: Scene, rng: random.Random, horizon: float, tint: tuple[int, int, int],
         indoor: bool) -> None:
    light = scene.light
    if indoor:
        wall = p.lit(mix(_WALL, tint, 0.5 if scene.colours else 0.2))
        stops = [shade(wall, 0.85), wall, shade(wall, 1.05)]
    else:
        top, low = light.sky_top, light.sky_low
        amount = 0.6 if scene.colours else 0.15
        top = mix(top, tint, amount)
        low = mix(low, scene.colours[-1] if scene.colours else tint, amount * 0.8)
        stops = [top, mix(top, low, rng.uniform(0.3, 0.6)), low]
    p.vgradient((0, 0, p.w, int(horizon) + 1), stops)
    if indoor:
        return
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


def _hills(p: Painter, rng: random.Random, horizon: float, colour: tuple[int, int, int]) -> None:
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


def _ground(p: Painter, rng: random.Random, kind: str, horizon: float, tint: tuple[int, int, int],
            scene: Scene) -> None:
    base = mix(_GROUND[kind], tint, 0.45 if scene.colours else 0.0)
    far = mix(base, scene.light.sky_low, 0.35) if kind in ("water", "snow") else shade(base, 0.9)
    p.vgradient((0, int(horizon), p.w, p.h), [p.lit(far), p.lit(base), p.lit(shade(base, 0.78))])
    d, frng, area = p.draw, p.frng, p.w * (p.h - horizon)
    depth = p.h - horizon

    def at_depth() -> tuple[float, float, float]:
        t = frng.random()
        return frng.uniform(0, p.w), horizon + depth * t * t ** 0.2, 0.3 + 0.7 * t

    if kind == "grass":
        tones = [p.lit(shade(base, f)) for f in (0.6, 0.8, 1.25, 1.45)]
        for _ in range(p.count(area, 3)):
            x, y, near = at_depth()
            ln = (5 + 10 * near) * p.px
            d.line((x, y, x + frng.uniform(-0.4, 0.4) * ln, y - ln), fill=frng.choice(tones),
                   width=p.stroke(1))
    elif kind == "snow":
        for _ in range(p.count(area, 1.2)):
            x, y, _near = at_depth()
            d.point((x, y), fill=(255, 255, 255) if frng.random() < 0.6 else p.lit((170, 190, 225)))
    elif kind == "sand":
        for _ in range(p.count(area, 0.5)):
            x, y, near = at_depth()
            ln = (10 + 25 * near) * p.px
            d.arc((x - ln, y - ln * 0.2, x + ln, y + ln * 0.2), 200, 340, fill=p.lit(shade(base, 0.8)),
                  width=p.stroke(1))
    elif kind == "water":
        tones = [p.lit(shade(base, 0.7)), p.lit(mix(base, scene.light.sky_low, 0.6)),
                 p.lit(shade(base, 1.3))]
        # Pro: a few coarse ripples so it still reads as water; Flex: many fine ones.
        n = p.count(area, 1.5) or 40
        for _ in range(n):
            x, y, near = at_depth()
            ln = (8 + 30 * near) * p.px * (1 if p.fine else 3)
            d.line((x - ln, y, x + ln, y), fill=frng.choice(tones), width=p.stroke(1 if p.fine else 3))
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


def _rain(p: Painter) -> None:
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


def _compose(scene: Scene, p: Painter, rng: random.Random) -> None:
    """Draw the scene the prompt describes onto ``p``'s canvas."""
    w, h, u = p.w, p.h, p.u
    subjects = [s for s in scene.subjects if s in MOTIFS]
    first = subjects[0] if subjects else None
    kind = scene.ground or {"boat": "water", "mug": "indoor"}.get(
        first or "", "street" if "city" in scene.subjects else "grass")
    indoor = kind == "indoor"
    portrait = first == "person"
    horizon = h * (rng.uniform(0.5, 0.62) if indoor else rng.uniform(0.45, 0.68))
    palette = [*scene.colours] if scene.colours else _palette(rng)
    tint = palette[0]
    _sky(p, scene, rng, horizon, tint, indoor)
    if scene.neon and "city" not in scene.subjects:
        _neon_signs(p, rng, horizon)
    if not scene.subjects:
        # No subject we can draw: abstract shapes keep prompts apart. Pro gets the
        # first few of the same shapes Flex gets.
        shapes = random.Random(rng.random())
        _shapes(p, shapes, palette, 10 if p.fine else 5, horizon)
    if not indoor:
        if "mountain" in scene.subjects:
            mountain_range(p, rng, horizon, scene.colours[0] if scene.colours else None)
        elif "city" not in scene.subjects and kind in ("grass", "snow", "sand"):
            _hills(p, rng, horizon, mix(_GROUND[kind], tint, 0.3 if scene.colours else 0.1))
        if "city" in scene.subjects:
            skyline(p, rng, horizon, scene.colours[0] if scene.colours else None, scene.neon)
    _ground(p, rng, kind, horizon, tint, scene)
    # (ground y, motif, centre x, size, facing, colour): drawn far to near.
    placed: list[tuple[float, str, float, float, int, tuple[int, int, int] | None]] = []
    slots = [0.3, 0.5, 0.7]
    rng.shuffle(slots)
    for i, name in enumerate(subjects):
        primary = i == 0
        colour = scene.colours[0] if primary and scene.colours else None
        facing = rng.choice((-1, 1))
        if primary and portrait:
            placed.append((h * 1.02, name, w * rng.uniform(0.4, 0.6), min(h * 0.85, w * 1.0), facing, colour))
            continue
        s = u * _MOTIF_SIZE[name] * rng.uniform(0.85, 1.15) * (1.0 if primary else 0.55)
        near = rng.uniform(0.5, 0.8) if primary else rng.uniform(0.1, 0.3)
        if name in ("house", "lighthouse", "tree") and primary:
            near = rng.uniform(0.15, 0.4)
        placed.append((horizon + (h - horizon) * near, name, w * (slots[i % 3] + rng.uniform(-0.06, 0.06)),
                       s, facing, colour))
    if "tree" in subjects:  # a few more, further back: a tree rarely stands alone
        for _ in range(rng.randint(1, 3)):
            placed.append((horizon + (h - horizon) * 0.05, "tree", rng.uniform(0, w),
                           u * 0.25 * rng.uniform(0.7, 1.2), 1, None))
    for gy, name, cx, s, facing, colour in sorted(placed, key=lambda e: e[0]):
        MOTIFS[name](p, rng, cx, gy, s, facing, colour)
    if scene.rain:
        _rain(p)
    p.apply_glows()


def _remix(scene: Scene, p: Painter, rng: random.Random, local: list[Image.Image]) -> None:
    """Restyle the first local source: its composition stays, the prompt's colours
    and light change its look, further sources join as soft insets."""
    base = ImageOps.fit(local[0].convert("RGB"), (p.w, p.h), Image.Resampling.BICUBIC)
    light = scene.light
    if scene.colours:
        c = scene.colours[0]
        tones = (shade(c, 0.2), c, mix(c, (255, 255, 255), 0.75))
    else:
        tones = (shade(light.sky_top, 0.3), mix(light.sky_low, (128, 128, 128), 0.3), (250, 247, 240))
    styled = ImageOps.colorize(base.convert("L"), black=tones[0], white=tones[2], mid=tones[1])
    canvas = Image.blend(base, styled, rng.uniform(0.45, 0.6) if scene.colours else rng.uniform(0.2, 0.3))
    if light.gain != (1.0, 1.0, 1.0):
        luts = [[min(255, int(v * g)) for v in range(256)] for g in light.gain]
        canvas = canvas.point(luts[0] + luts[1] + luts[2])
    p.img.paste(canvas)
    for thumb in local[1:]:
        side = rng.uniform(0.3, 0.42) * p.u
        scale = side / max(thumb.size)
        inset = thumb.convert("RGB").resize(
            (max(1, int(thumb.width * scale)), max(1, int(thumb.height * scale))), Image.Resampling.BILINEAR)
        mask = Image.new("L", inset.size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, inset.width - 1, inset.height - 1), fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(max(1, inset.width // 12)))
        x = int(rng.uniform(0.3, 1.0) * (p.w - inset.width))
        y = int(rng.uniform(0.2, 0.9) * (p.h - inset.height))
        p.img.paste(inset, (x, y), mask)
    if p.fine:
        # Crisp edges, then painterly 1-output-pixel strokes in the local colour:
        # the fine detail a Pro remix (composed small, scaled up) does not have.
        sharp = p.img.filter(ImageFilter.UnsharpMask(radius=2, percent=140, threshold=2))
        p.img.paste(sharp)
        ref = p.img.resize((64, 64), Image.Resampling.BILINEAR).tobytes()
        frng, d = p.frng, p.draw
        for _ in range(p.count(p.w * p.h, 1.2)):
            sx, sy = frng.uniform(0, p.w), frng.uniform(0, p.h)
            at = 3 * (min(63, int(sy * 64 / p.h)) * 64 + min(63, int(sx * 64 / p.w)))
            a, ln = frng.uniform(0, math.pi), frng.uniform(4, 9) * p.px
            d.line((sx, sy, sx + ln * math.cos(a), sy + ln * math.sin(a)),
                   fill=(*shade(ref[at:at + 3], frng.choice((0.8, 1.2))), 150), width=p.stroke(1))
    if scene.rain:
        _rain(p)


def _source_panels(spec: RenderSpec, img: Image.Image) -> None:
    """Show every source as a framed panel down the left edge."""
    w, h = img.size
    n = len(spec.sources)
    gap = max(4, h // 100)
    max_w, max_h = w // 4, (h - gap * (n + 1)) // n
    draw = ImageDraw.Draw(img, "RGBA")
    y = gap
    for i, src in enumerate(spec.sources):
        if src.thumb is not None:
            scale = min(max_w / src.thumb.width, max_h / src.thumb.height)
            tile = src.thumb.convert("RGB").resize(
                (max(1, int(src.thumb.width * scale)), max(1, int(src.thumb.height * scale))),
                Image.Resampling.BILINEAR)
        else:
            tile = Image.new("RGB", (min(max_w, max_h * 4 // 3), min(max_h, max_w * 3 // 4)), (60, 60, 70))
            host = urlsplit(src.url).hostname or "?"
            ImageDraw.Draw(tile).text((6, 6), f"source {i + 1}\n(not local)\n{host}",
                                      fill=(255, 255, 255), font=_font(max(10, tile.height // 8)))
        draw.rectangle((gap - 2, y - 2, gap + tile.width + 1, y + tile.height + 1),
                       fill=(255, 255, 255, 230))
        img.paste(tile, (gap, y))
        y += tile.height + gap


def _watermark(img: Image.Image) -> None:
    w, h = img.size
    text = "SIMULATED"
    font = _font(max(w, h) // 9)
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (int(right - left) + 8, int(bottom - top) + 8), 0)
    ImageDraw.Draw(mask).text((4 - left, 4 - top), text, fill=110, font=font)
    mask = mask.rotate(math.degrees(math.atan2(h, w)), expand=True, resample=Image.Resampling.BILINEAR)
    x, y = (w - mask.width) // 2, (h - mask.height) // 2
    img.paste((255, 255, 255), (x, y, x + mask.width, y + mask.height), mask)


def _labels(spec: RenderSpec, img: Image.Image) -> None:
    w, h = img.size
    draw = ImageDraw.Draw(img, "RGBA")
    band = max(18, min(h // 22, w // 16))
    draw.rectangle((0, h - band, w, h), fill=(0, 0, 0, 170))
    head = (f"SIMULATED \u00b7 Flux 2 {spec.tier.capitalize()} \u00b7 {spec.resolution} \u00b7 "
            f"{spec.aspect_ratio} \u00b7 {w}x{h}")
    room = w - band
    size = int(band * 0.55)
    font = _font(size)
    # Keep the tier/size facts whole; shorten the snippet, then the font, and
    # drop the snippet only as a last resort.
    def fitted(limit: int) -> str:
        if not limit:
            return head
        snippet = spec.prompt if len(spec.prompt) <= limit else spec.prompt[:limit - 1] + "\u2026"
        return f"{head} \u00b7 \u201c{snippet}\u201d"

    line = next((fitted(n) for n in (48, 32, 20) if font.getlength(fitted(n)) <= room), "")
    while not line and size > 10:
        size -= 1
        font = _font(size)
        line = fitted(20) if font.getlength(fitted(20)) <= room else ""
    line = line or fitted(0)
    draw.text((band // 3, h - band + (band - size) // 2), line, fill=(255, 255, 255, 255), font=font)
    badge_font = _font(band)
    tag = f"{spec.tier.upper()} {spec.resolution.upper()}"
    bw = int(badge_font.getlength(tag)) + band // 2
    draw.rectangle((w - bw - band // 3, band // 3, w - band // 3, band // 3 + int(band * 1.3)),
                   fill=(0, 0, 0, 150))
    draw.text((w - bw - band // 3 + band // 4, band // 3 + band // 8), tag,
              fill=(255, 255, 255, 255), font=badge_font)


def render(spec: RenderSpec) -> Rendered:
    """Draw and PNG-encode one image of exactly ``spec.size``."""
    w, h = spec.size
    scene = read_prompt(spec.prompt)
    rng = _rng(spec)
    scale = _WORK_SCALE[spec.tier]
    canvas = Image.new("RGB", (max(16, w // scale), max(16, h // scale)))
    painter = Painter(canvas, px=canvas.width / w, detail=_DETAIL[spec.tier], gain=scene.light.gain,
                      fine_rng=_rng(spec, "detail"))
    local = [s.thumb for s in spec.sources if s.thumb is not None]
    if local:
        _remix(scene, painter, rng, local)
    else:
        _compose(scene, painter, rng)
    # Pro: the bilinear upscale of a half-size canvas is its soft focus.
    img = canvas if canvas.size == (w, h) else canvas.resize((w, h), Image.Resampling.BILINEAR)
    if spec.sources:
        _source_panels(spec, img)
    _watermark(img)
    _labels(spec, img)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=_PNG_LEVEL)
    thumb = img.reduce(max(1, max(w, h) // THUMB_MAX))
    return Rendered(png=buf.getvalue(), size=(w, h), thumb=thumb)


@dataclass(frozen=True)
class Decoded:
    """An uploaded image, decoded once: its format, upright pixel size and a thumbnail."""

    format: str
    size: tuple[int, int]
    thumb: Image.Image


def decode_upload(data: bytes) -> Decoded:
    """Decode an upload (CPU work: call it off the event loop). Raises ``ValueError``
    when Pillow cannot read it as an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, size = img.format or "", img.size
            # JPEG can decode straight at a fraction of its size: far cheaper for photos.
            img.draft("RGB", (THUMB_MAX, THUMB_MAX))
            # Phone photos are stored sideways with an EXIF rotation: remix sees them upright.
            upright = ImageOps.exif_transpose(img)
            upright.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.BILINEAR)
            thumb = upright.convert("RGB")
            if img.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated a quarter turn
                size = (size[1], size[0])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not an image: {exc}") from exc
    return Decoded(format=fmt, size=size, thumb=thumb)
