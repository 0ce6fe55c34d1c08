"""Where the workspace database is: a SQLite file (the default, in the results folder) or
a PostgreSQL server named by URL, and how such a URL is shown without its password.

The password of a URL is registered with :mod:`flux2_widgets._redact` as soon as the URL
is parsed, so every message that passes through ``redact`` (every ``Flux2Error``, the run
log, sidecars) hides it too; :func:`redact_url` covers text that does not.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

from .._redact import REDACTED, register_secret
from ..errors import ValidationError

__all__ = ["DATABASE_URL_ENV", "DB_FILE", "DatabaseURL", "parse_database_url", "redact_url"]

#: Set to ``postgresql://user:password@host/db`` to share the workspace between machines.
DATABASE_URL_ENV = "FLUX2_DATABASE_URL"
#: The default database: one SQLite file in the results folder.
DB_FILE = "workspace.db"

_ALLOWED = ("postgresql://user:password@host:port/database (or libpq's 'host=... dbname=... user=...') "
            "or sqlite:///path/to/file.db")
# user:password@ in anything that looks like a URL (a driver's message, a traceback line)
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@",
                       re.IGNORECASE)
# ...?password=... (libpq takes the password, and a client key's, as query parameters too)
_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:ssl)?password=)[^&#\s]*", re.IGNORECASE)
_SECRET_PARAMS = ("password", "sslpassword")
# libpq's keyword/value form: host=/run/postgresql dbname=flux2 password='it''s' ...
_KV_VALUE = r"(?:'(?:[^'\\]|\\.)*'|[^\s']+)"
_KV_PAIR = re.compile(rf"\s*(?P<key>[a-z_]+)\s*=\s*(?P<value>{_KV_VALUE})", re.IGNORECASE)
_KV_SECRET = re.compile(rf"(?P<key>\b(?:ssl)?password\s*=\s*){_KV_VALUE}", re.IGNORECASE)
#: keywords that make a keyword/value string a PostgreSQL connection (libpq's own names)
_KV_KEYS = {"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode",
            "sslpassword", "application_name", "connect_timeout", "options", "service",
            "target_session_attrs", "sslrootcert", "sslcert", "sslkey", "gssencmode", "channel_binding"}


def redact_url(text: str, *secrets: str) -> str:
    """``text`` with any URL password and each of ``secrets`` replaced by ``<redacted>``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{REDACTED}", text)
    return _KV_SECRET.sub(lambda m: f"{m['key']}{REDACTED}", text)


def _keyword_values(text: str) -> dict[str, str] | None:
    """libpq's ``key=value ...`` form as a dict, ``None`` when ``text`` is not one."""
    pairs, at = {}, 0
    while at < len(text):
        m = _KV_PAIR.match(text, at)
        if m is None or (m.end() < len(text) and not text[m.end()].isspace()):
            return None
        value = m["value"]
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs[m["key"].lower()] = value
        at = m.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return pairs if pairs and set(pairs) <= _KV_KEYS else None


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL. ``str()`` and ``repr()`` never show its password; only the
    backend that connects reads :attr:`conninfo`."""

    #: ``"sqlite"`` or ``"postgresql"``
    kind: str
    #: The SQLite file (``None`` for PostgreSQL).
    path: Path | None = None
    _conninfo: str = field(default="", repr=False, compare=False)
    #: every password the URL carries (its user's, a query's password= or sslpassword=),
    #: as written and percent-encoded
    _secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def conninfo(self) -> str:
        """The URL with its password, for the driver alone."""
        return self._conninfo

    @property
    def redacted(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return redact_url(self._conninfo, *self._secrets)

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"DatabaseURL({self.redacted!r})"

    def scrub(self, text: str) -> str:
        """``text`` (a driver's error, say) without this URL's password."""
        return redact_url(text, *self._secrets)


def _secrets_of(parts: SplitResult) -> tuple[str, ...]:
    """The URL's passwords, decoded and as written (both forms can turn up in a message)."""
    found = [unquote(parts.password or "")]
    found += [value for key, value in parse_qsl(parts.query, keep_blank_values=True)
              if key.lower() in _SECRET_PARAMS]
    out: list[str] = []
    for secret in found:
        for form in (secret, quote(secret, safe="")):
            if form and form not in out:
                out.append(form)
    return tuple(out)


def parse_database_url(url: str | None, folder: Path) -> DatabaseURL:
    """The database for ``folder``: ``url``, else ``$FLUX2_DATABASE_URL``, else the SQLite
    file ``folder/workspace.db``."""
    if url is None:
        url = os.environ.get(DATABASE_URL_ENV) or None
    if url is None:
        return DatabaseURL("sqlite", path=Path(folder) / DB_FILE)
    if not isinstance(url, str):
        raise ValidationError(f"database_url must be a string like {_ALLOWED}, not {type(url).__name__}",
                              field="database_url", value=type(url).__name__, allowed=_ALLOWED)
    keywords = _keyword_values(url.strip()) if "://" not in url else None
    if keywords is not None:
        secrets = tuple(dict.fromkeys(v for k, v in keywords.items() if k in _SECRET_PARAMS and v))
        for secret in secrets:
            register_secret(secret)
        return DatabaseURL("postgresql", _conninfo=url.strip(), _secrets=secrets)
    try:
        parts = urlsplit(url.strip())
        secrets = _secrets_of(parts)
    except ValueError:
        parts, secrets = None, ()
    scheme = parts.scheme.lower() if parts else ""
    if scheme in ("postgresql", "postgres"):
        for secret in secrets:
            register_secret(secret)
        # the URL as written goes to the driver: re-assembled, postgresql:///db?host=/run/x
        # (a Unix socket) would lose its empty authority
        return DatabaseURL("postgresql", _conninfo=url.strip(), _secrets=secrets)
    if scheme == "sqlite" and parts is not None:
        # sqlite:///relative/file.db and sqlite:////absolute/file.db, as SQLAlchemy spells them
        raw = url.strip()[len("sqlite:///"):] if url.strip().lower().startswith("sqlite:///") else ""
        if raw:
            return DatabaseURL("sqlite", path=Path(unquote(raw)))
    shown = redact_url(url, *secrets)
    raise ValidationError(f"database_url {shown!r} is not a database URL; use {_ALLOWED}",
                          field="database_url", value=shown, allowed=_ALLOWED)
