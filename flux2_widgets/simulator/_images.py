"""Procedural stand-in images: deterministic, cheap, and obviously simulated.

The picture is a function of (seed, prompt, variation, tier, resolution, size,
sources) and nothing else, so one task always gives the same bytes, while each
task of a batch (``variation``) is its own take on the prompt. What is drawn
follows the prompt's words (``_scene``): colours set the palette, light words
the lighting, subjects a motif laid out by ``_compose`` (from the catalogue in
``_motifs``), medium words a finish (``_styles``).

Tiers and resolutions differ the way a comparison should show them: Pro
composes on a half-size canvas scaled up (soft edges, few fine strokes, no
decorations); Flex and Max draw at full size, crisp, with fine detail sized in
output pixels (fur, shingles, leaves, stars, ripples), so a 2k image holds
strokes a 1k image has no room for. The layout comes from the prompt and the
take only, so a Pro-vs-Flex or 1k-vs-2k pair shows the same scene. The only
words written on an image are the SIMULATED watermark, the same for every
tier: a simulated blind test gives nothing away but how the tiers draw.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from ._compose import compose, rain
from ._paint import Painter, mix, shade
from ._scene import Scene, read_prompt
from ._styles import finish

__all__ = ["SourceRef", "RenderSpec", "Rendered", "Decoded", "render", "decode_upload", "watermark_mask",
           "THUMB_MAX"]

#: Longest side of the thumbnail kept next to each PNG, used when a remix
#: reads a local source: decoding a 4 MP PNG per source would cost more than
#: the whole render.
THUMB_MAX = 256

#: How many times smaller than the output each tier composes (Pro: soft after
#: the upscale), and how much fine detail it adds (0: none).
_WORK_SCALE = {"pro": 2, "flex": 1, "max": 1}
_DETAIL = {"pro": 0.3, "flex": 1.0, "max": 1.6}

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


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


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
        rain(p)


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


@lru_cache(maxsize=16)
def watermark_mask(size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The SIMULATED watermark for an image of ``size``: its opacity (mode L, white
    pasted through it) and where its top-left corner goes (may be off the canvas).
    The same for every tier: it names the simulator, never the tier or the prompt."""
    w, h = size
    text = "SIMULATED"
    font = _font(max(w, h) // 9)
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (int(right - left) + 8, int(bottom - top) + 8), 0)
    ImageDraw.Draw(mask).text((4 - left, 4 - top), text, fill=110, font=font)
    mask = mask.rotate(math.degrees(math.atan2(h, w)), expand=True, resample=Image.Resampling.BILINEAR)
    return mask, ((w - mask.width) // 2, (h - mask.height) // 2)


def _watermark(img: Image.Image) -> None:
    mask, (x, y) = watermark_mask(img.size)
    img.paste((255, 255, 255), (x, y, x + mask.width, y + mask.height), mask)


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
        _remix(scene, painter, rng, local)  # restyled by colour and light, its composition kept
    else:
        compose(scene, painter, rng)
        canvas = finish(canvas, scene.style, painter, rng)  # "..., watercolor": the medium
    # Pro: the bilinear upscale of a half-size canvas is its soft focus.
    img = canvas if canvas.size == (w, h) else canvas.resize((w, h), Image.Resampling.BILINEAR)
    if spec.sources:
        _source_panels(spec, img)
    _watermark(img)
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
