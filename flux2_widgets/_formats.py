"""What kind of image some bytes are: the one sniffer for downloads, uploads and files on disk.

Strict on purpose: the full 8-byte PNG signature, a JPEG start-of-image followed by a
marker, and a RIFF container that says WEBP. Anything else is not an image this
toolkit takes (Flux 2 reads and writes only these three).
"""

from __future__ import annotations

__all__ = ["IMAGE_FORMATS", "sniff_format"]

#: The formats ``sniff_format`` names, as it names them.
IMAGE_FORMATS = ("png", "jpeg", "webp")

_PNG = b"\x89PNG\r\n\x1a\n"


def sniff_format(data: bytes | bytearray | memoryview) -> str | None:
    """``"png"``, ``"jpeg"`` or ``"webp"`` from the first bytes; ``None`` for anything else."""
    head = bytes(data[:12])
    if head.startswith(_PNG):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):  # SOI, then the first marker's 0xFF
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None
