"""Preview thumbnails: small JPEGs that keep saved notebooks light.

This is CPU work (decode + resize + encode); callers on an event loop run it
in a worker thread (``asyncio.to_thread``) so the kernel stays responsive.
"""

from __future__ import annotations

import io


def make_thumbnail(data: bytes, side: int = 384, quality: int = 82) -> tuple[bytes, tuple[int, int]]:
    """Return (JPEG bytes no larger than ``side`` on the long edge, original size)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        size = img.size
        # JPEG sources can decode at 1/2, 1/4, 1/8 scale directly: much faster.
        img.draft("RGB", (side, side))
        # reduce() by an integer factor first is far cheaper than a full-size filter.
        factor = max(1, min(img.size) // (side * 2))
        work = img.convert("RGB")
        if factor > 1:
            work = work.reduce(factor)
        work.thumbnail((side, side), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        work.save(out, "JPEG", quality=quality, optimize=False)
    return out.getvalue(), size
