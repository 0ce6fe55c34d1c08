"""Where two pictures of the same scene differ: an absolute-difference heatmap.

For 1k vs 2k, or a source vs its remix, the larger image is resampled to the
smaller one's size (comparing at the shared detail level, and cheaper than
upsampling), the per-pixel difference is taken over R, G and B, and it is
stretched so the 99th percentile reads as full heat: small differences stay
visible next to one big one. CPU work: call it off the event loop.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["Difference", "difference", "heat_lut"]

# Heat ramp stops (value 0-255 -> RGB): black, deep violet, red, orange, pale yellow.
_STOPS = ((0, (0, 0, 0)), (64, (60, 12, 110)), (128, (200, 40, 60)), (192, (250, 150, 20)),
          (255, (255, 250, 200)))


def heat_lut() -> list[list[int]]:
    """Per-channel lookup tables (R, G, B) for the heat ramp."""
    out: list[list[int]] = [[], [], []]
    for v in range(256):
        for (x0, c0), (x1, c1) in itertools.pairwise(_STOPS):
            if x0 <= v <= x1:
                t = (v - x0) / (x1 - x0)
                for ch in range(3):
                    out[ch].append(round(c0[ch] + (c1[ch] - c0[ch]) * t))
                break
    return out


@dataclass
class Difference:
    """The heatmap and how much differs: ``mean`` absolute difference (0-255 scale, over
    R, G, B) and ``changed``, the share of pixels differing by more than 10%."""

    heatmap: PILImage.Image
    mean: float
    changed: float
    size: tuple[int, int]

    def png(self) -> bytes:
        out = io.BytesIO()
        self.heatmap.save(out, "PNG")
        return out.getvalue()


def _open(image: Any) -> PILImage.Image:
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (bytes, bytearray, memoryview)):
        img = Image.open(io.BytesIO(bytes(image)))
        img.load()
        return img.convert("RGB")
    data = getattr(image, "data", None)  # a GeneratedImage
    if isinstance(data, bytes):
        return _open(data)
    raise TypeError(f"expected image bytes, a PIL image or a GeneratedImage, not {type(image).__name__}")


def difference(a: Any, b: Any) -> Difference:
    """The heatmap of ``|a - b|`` at the smaller image's size."""
    from PIL import Image, ImageChops

    img_a, img_b = _open(a), _open(b)
    size = min(img_a.size, img_b.size, key=lambda s: s[0] * s[1])
    if img_a.size != size:
        img_a = img_a.resize(size, Image.Resampling.LANCZOS)
    if img_b.size != size:
        img_b = img_b.resize(size, Image.Resampling.LANCZOS)
    diff = ImageChops.difference(img_a, img_b)
    # Mean over channels, per pixel: the L conversion's weights would hide pure blue changes.
    r, g, b = diff.split()
    gray = Image.merge("RGB", (r, g, b)).convert("L", matrix=(1 / 3, 1 / 3, 1 / 3, 0))
    hist = gray.histogram()
    pixels = size[0] * size[1]
    mean = sum(v * n for v, n in enumerate(hist)) / pixels
    changed = sum(hist[26:]) / pixels
    # Stretch so the 99th percentile is full heat (at least 8 levels, so noise stays dark).
    seen, top = 0, 255
    for v, n in enumerate(hist):
        seen += n
        if seen >= 0.99 * pixels:
            top = max(v, 8)
            break
    stretched = gray.point(lambda v: min(255, round(v * 255 / top)))
    lut = heat_lut()
    heat = Image.merge("RGB", [stretched.point(lut[ch]) for ch in range(3)])
    return Difference(heat, mean, changed, size)
