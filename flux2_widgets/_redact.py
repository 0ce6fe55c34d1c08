"""Keep API keys out of every string the toolkit shows, logs or stores.

Keys are registered when a client resolves them; ``redact`` then replaces any
registered key (and anything shaped like a bearer token) wherever it appears.
"""

from __future__ import annotations

import re
import threading

REDACTED = "<redacted>"

_lock = threading.Lock()
_known_keys: set[str] = set()
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_KEYLIKE = re.compile(r"\b(sk|rk|key)[-_][A-Za-z0-9_-]{12,}\b")


def register_secret(secret: str | None) -> None:
    """Remember a key so every later ``redact`` call hides it."""
    if secret and len(secret) >= 4:
        with _lock:
            _known_keys.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with known keys and bearer tokens replaced by ``<redacted>``."""
    if not isinstance(text, str):
        text = str(text)
    with _lock:
        keys = sorted(_known_keys, key=len, reverse=True)
    for key in keys:
        if key in text:
            text = text.replace(key, REDACTED)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _KEYLIKE.sub(REDACTED, text)


def mask(secret: str | None) -> str:
    """A short, safe hint of which key is configured (``sk-...a1b2``)."""
    if not secret:
        return "none"
    if len(secret) < 20:  # a hint of a short key would give away too much of it
        return "****"
    return f"{secret[:3]}...{secret[-4:]}"
