"""Local images as remix sources, through RunAPI's files API.

Remix only takes public http(s) URLs (the service downloads the sources itself).
``POST /api/v1/files`` with a base64 source stores a file and answers a temporary
public URL (about 7 days) that remix accepts. The single base64 call carries the
whole file, so it is capped; the check happens here, before anything is sent.
The limits are the catalog's, so the simulator applies the same ones.
"""

from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._formats import sniff_format
from ..catalog import (
    MAX_UPLOAD_BYTES,
    UPLOAD_EXTENSIONS,
    UPLOAD_FORMATS,
    UPLOAD_KINDS,
    file_label,
    url_problem,
)
from ..errors import MalformedResponseError, ValidationError

__all__ = ["PreparedUpload", "prepare_upload", "sniff_image", "upload_url"]

#: Bytes base64-encoded per call (a multiple of 3, so the slices join without padding).
_B64_SLICE = 3 * 256 * 1024

FileLike = str | os.PathLike[str] | bytes | bytearray | memoryview


@dataclass(frozen=True)
class PreparedUpload:
    file_name: str
    mime_type: str
    size_bytes: int
    #: The encoded JSON body: built off the event loop (a 20 MB file is 27 MB of JSON).
    body: bytes


def _too_large(what: str, size: int) -> ValidationError:
    return ValidationError(
        f"{what} is {file_label(size)}; one upload takes at most {file_label(MAX_UPLOAD_BYTES)}: "
        "resize it or save it as JPEG first", field="file", value=size,
        allowed=f"<= {MAX_UPLOAD_BYTES} bytes")


def _named_by_pillow(data: bytes) -> str | None:
    """What Pillow calls an image that is not one we take (GIF, BMP...), for the message."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format
    except Exception:  # not an image at all: Pillow raises many kinds
        return None


def sniff_image(data: bytes, what: str) -> str:
    """The format of ``data`` as the catalog names it (PNG, JPEG or WEBP), else a
    ValidationError. The toolkit's one sniffer decides the kind; Pillow then checks the
    structure without decoding pixels (a truncated or absurd file fails here)."""
    from PIL import Image, UnidentifiedImageError

    kind = sniff_format(data)
    if kind is None:
        named = _named_by_pillow(data)
        if named:
            raise ValidationError(f"{what} is a {named} image; remix sources must be {UPLOAD_KINDS}",
                                  field="file", value=named, allowed=UPLOAD_KINDS)
        raise ValidationError(f"{what} is not an image ({UPLOAD_KINDS} expected)",
                              field="file", value=what, allowed=UPLOAD_KINDS)
    fmt = kind.upper()
    try:
        with Image.open(io.BytesIO(data)) as img:
            read_as = img.format or ""
            # verify() reads the structure (PNG chunk CRCs) without decoding pixels:
            # a truncated file fails here instead of in the remix.
            img.verify()
    except Image.DecompressionBombError as exc:
        raise ValidationError(f"{what} has too many pixels to be a remix source ({exc})", field="file",
                              value=what, allowed=UPLOAD_KINDS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"{what} starts like a {fmt} image but is not one Pillow can read "
                              f"({type(exc).__name__}: {exc})"[:300],
                              field="file", value=what, allowed=UPLOAD_KINDS) from exc
    if read_as != fmt:
        raise ValidationError(f"{what} starts like a {fmt} image but reads as {read_as or 'nothing'}",
                              field="file", value=read_as, allowed=UPLOAD_KINDS)
    return fmt


def _read(file: Any, filename: str | None) -> tuple[bytes, str | None, str]:
    """(bytes, name from the path or None, how to refer to the file in messages)."""
    if filename is not None and not isinstance(filename, str):
        raise ValidationError(f"filename must be a file name (or None), got {type(filename).__name__}",
                              field="filename", value=filename, allowed="str or None")
    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file), None, repr(Path(filename).name) if filename else "the data"
    if isinstance(file, str) and file.strip().lower().startswith(("http://", "https://")):
        raise ValidationError(f"{file!r} is already a URL: pass it in source_image_urls as it is",
                              field="file", value=file, allowed="a local file path or bytes")
    if not isinstance(file, (str, os.PathLike)):
        raise ValidationError(f"upload takes a file path or bytes, got {type(file).__name__}",
                              field="file", value=file, allowed="str | Path | bytes")
    path = Path(file).expanduser()
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "does not exist"
        raise ValidationError(f"cannot upload {str(path)!r}: it {why}", field="file", value=str(path),
                              allowed="an existing image file")
    try:
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:  # refuse before reading a huge file into memory
            raise _too_large(repr(path.name), size)
        return path.read_bytes(), path.name, repr(path.name)
    except OSError as exc:  # unreadable (permissions, a vanished file): nothing was sent
        raise ValidationError(f"cannot read {str(path)!r}: {exc.strerror or exc}", field="file",
                              value=str(path), allowed="a readable image file") from None


def prepare_upload(file: FileLike, filename: str | None = None) -> PreparedUpload:
    """Check and encode one upload. Blocking (file read, Pillow): run it off the loop."""
    data, path_name, what = _read(file, filename)
    if not data:
        raise ValidationError(f"{what} is empty", field="file", value=0, allowed="an image file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large(what, len(data))
    fmt = sniff_image(data, what)
    name = Path(filename).name if filename else (path_name or f"upload.{UPLOAD_EXTENSIONS[fmt]}")
    if not name.strip():
        raise ValidationError(f"filename {filename!r} has no file name", field="filename", value=filename,
                              allowed="a file name such as 'photo.png'")
    # Assembled by hand, in slices: json.dumps on a 27 MB string costs ~0.1 s for nothing
    # (base64 never needs escaping), and one b64encode call would hold the GIL ~50 ms,
    # stalling the notebook's event loop; slices let it run in between.
    view, step = memoryview(data), _B64_SLICE
    body = b"".join([b'{"source":{"type":"base64","data":"',
                     *(base64.b64encode(view[i:i + step]) for i in range(0, len(data), step)),
                     b'"},"file_name":', json.dumps(name).encode(), b"}"])
    return PreparedUpload(file_name=name, mime_type=UPLOAD_FORMATS[fmt], size_bytes=len(data), body=body)


def upload_url(answer: Any, *, request_id: str | None = None) -> str:
    """The usable URL from an UploadResponse (``{"file_name", "url", ...}``)."""
    url = answer.get("url") if isinstance(answer, dict) else None
    if not isinstance(url, str) or url_problem(url) is not None:
        raise MalformedResponseError(
            f"the files API answered without a usable http(s) url: {str(answer)[:120]!r}",
            request_id=request_id)
    return url
