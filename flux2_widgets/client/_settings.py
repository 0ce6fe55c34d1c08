"""Where the API key and base URL come from, in order of precedence.

key:      argument > ``RUNAPI_API_KEY`` > ``~/.config/runapi/config.json`` ``{"api_key": ...}``
base URL: argument > ``RUNAPI_BASE_URL`` > config file ``base_url`` > ``https://runapi.ai``

With no key and no base URL anywhere, the toolkit runs on the embedded
simulator instead of failing: every notebook works offline.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .._redact import mask, register_secret
from ..catalog import DEFAULT_BASE_URL, url_problem
from ..errors import AuthenticationError, ValidationError

CONFIG_PATH = Path("~/.config/runapi/config.json")
KEY_ENV = "RUNAPI_API_KEY"
BASE_URL_ENV = "RUNAPI_BASE_URL"
_PRINTABLE_KEY = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Settings:
    api_key: str | None
    base_url: str | None
    key_source: str  # "argument", "environment", "config file" or "none"

    def __repr__(self) -> str:  # never show the key, even by accident
        return (f"Settings(api_key={mask(self.api_key)}, base_url={self.base_url!r}, "
                f"key_source={self.key_source!r})")


def _config_file() -> dict[str, str]:
    path = Path(os.environ.get("RUNAPI_CONFIG", CONFIG_PATH)).expanduser()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def resolve_settings(api_key: str | None = None, base_url: str | None = None) -> Settings:
    source = "argument"
    key = api_key
    file_data: dict[str, str] | None = None
    if not key:
        key, source = os.environ.get(KEY_ENV) or None, "environment"
    if not key:
        file_data = _config_file()
        key, source = file_data.get("api_key") or None, "config file"
    if not key:
        source = "none"
    url = base_url or os.environ.get(BASE_URL_ENV) or None
    if not url:
        file_data = file_data if file_data is not None else _config_file()
        url = file_data.get("base_url") or None
    key = key.strip() if key else None
    register_secret(key)
    if key and not _PRINTABLE_KEY.fullmatch(key):
        # Said without the key: it would land in an error message, a log or a traceback.
        raise AuthenticationError(
            f"the API key from the {source} contains spaces, line breaks or non-ASCII characters "
            "(a copy-paste slip?); copy it again from your RunAPI dashboard")
    return Settings(api_key=key, base_url=normalize_base_url(url) if url else None, key_source=source)


def normalize_base_url(url: str) -> str:
    # The catalog's URL rule: it also refuses a user name or password in the URL, which
    # would otherwise show in every repr and log line that names the endpoint.
    if (problem := url_problem(url)) is not None:
        raise ValidationError(f"base_url must look like https://runapi.ai: {problem}"[:400],
                              field="base_url", value=url, allowed="http(s) URL")
    return url.strip().rstrip("/")



def default_base_url() -> str:
    return DEFAULT_BASE_URL
