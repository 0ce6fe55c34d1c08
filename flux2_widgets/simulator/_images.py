"""Procedural stand-in images: deterministic, cheap, and obviously simulated.

The picture is a function of (seed, prompt, tier, resolution, size, sources) and
nothing else, so the same request always gives the same bytes. Composition is
drawn on a small canvas and upscaled (cheap, soft shapes); only the fine
texture, the labels and the watermark are drawn at full size, which keeps a
4 MP render plus PNG encode well inside a short task's latency.
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

__all__ = ["SourceRef", "RenderSpec", "Rendered", "Decoded", "render", "decode_upload", "THUMB_MAX"]

#: Longest side of the thumbnail kept next to each PNG, used when a remix
#: reads a local source: decoding a 4 MP PNG per source would cost more than
#: the whole render.
THUMB_MAX = 256

# Shape counts and texture pitch per tier: Pro reads as simpler, Flex and Max
# as denser. Pitch is in output pixels, so 2k (twice the pixels) looks finer.
_SHAPES = {"pro": 6, "flex": 16, "max": 24}
_PITCH = {"pro": 0, "flex": 14, "max": 10}
_RING_PITCH = {"pro": 0, "flex": 0, "max": 18}

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
    sources: tuple[SourceRef, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rendered:
    png: bytes
    size: tuple[int, int]
    thumb: Image.Image


def _rng(spec: RenderSpec) -> random.Random:
    # Only seed + prompt pick the palette and layout, so one prompt looks
    # related across tiers/resolutions while tier/res change the texture.
    digest = hashlib.sha256(f"{spec.seed}\x00{spec.prompt}".encode()).digest()
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


def _gradient(rng: random.Random, palette: list, size: tuple[int, int]) -> Image.Image:
    # A 3x3 seed image upscaled bicubically is a smooth multi-stop gradient
    # for the price of a resize.
    seed = Image.new("RGB", (3, 3))
    seed.putdata([rng.choice(palette) for _ in range(9)])
    return seed.resize(size, Image.Resampling.BICUBIC)


def _shapes(rng: random.Random, palette: list, canvas: Image.Image, count: int) -> None:
    draw = ImageDraw.Draw(canvas, "RGBA")
    w, h = canvas.size
    for _ in range(count):
        color = (*rng.choice(palette), rng.randint(90, 200))
        kind = rng.random()
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.06, 0.3) * min(w, h)
        if kind < 0.45:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
        elif kind < 0.75:
            sides = rng.randint(3, 6)
            turn = rng.random() * math.tau
            pts = [(cx + r * math.cos(turn + k * math.tau / sides),
                    cy + r * math.sin(turn + k * math.tau / sides)) for k in range(sides)]
            draw.polygon(pts, fill=color)
        else:
            draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=color)


def _texture(spec: RenderSpec, rng: random.Random, img: Image.Image) -> None:
    """Full-resolution fine detail; absent for Pro, denser for Max."""
    pitch = _PITCH[spec.tier]
    if not pitch:
        return
    w, h = img.size
    draw = ImageDraw.Draw(img, "RGBA")
    ink = (255, 255, 255, 38)
    slope = rng.choice((-1, 1))
    for x in range(-h, w, pitch):
        draw.line((x, 0, x + slope * h, h) if slope > 0 else (x + h, 0, x, h), fill=ink, width=1)
    ring = _RING_PITCH[spec.tier]
    if ring:
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        for r in range(ring, int(math.hypot(w, h)), ring):
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(0, 0, 0, 40), width=1)


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
    mask = Image.new("L", (right - left + 8, bottom - top + 8), 0)
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
    rng = _rng(spec)
    palette = _palette(rng)
    # Layout canvas at 1/8 scale: shapes come out soft after the upscale, and
    # drawing them costs almost nothing.
    small_size = (max(16, w // 8), max(16, h // 8))
    canvas = _gradient(rng, palette, small_size)
    local = [s.thumb for s in spec.sources if s.thumb is not None]
    if local:
        # The remix visibly derives from its first local source.
        base = local[0].convert("RGB").resize(small_size, Image.Resampling.BILINEAR)
        canvas = Image.blend(canvas, base, 0.6)
    _shapes(rng, palette, canvas, _SHAPES[spec.tier] // (2 if local else 1))
    # Blurring the tiny canvas hides the staircase edges the upscale would
    # otherwise magnify, at no measurable cost.
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.8))
    img = canvas.resize((w, h), Image.Resampling.BICUBIC)
    _texture(spec, rng, img)
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
