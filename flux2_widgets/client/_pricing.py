"""Live prices: RunAPI's price schedules (cached, revalidated by ETag) and quotes.

The catalog's figures are the offline fallback: when the service cannot be asked (no
network, an older server without the route, an answer that is not the contract's
shape) every price comes from the catalog and says so (``source == "catalog"``).
A price the service marks ``pending`` is unknown (``None``), never zero.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..catalog import MODEL_IDS, PRICES, TIER_INFO, ImageRequest
from ..errors import APIError, APITimeoutError, Flux2Error, NetworkError
from ._transport import Answer, Transport

__all__ = ["PriceList", "PriceBook", "Quote", "SCHEDULES_PATH", "QUOTES_PATH", "SERVICE",
           "catalog_prices", "parse_schedules", "fetch_quote"]

log = logging.getLogger("flux2_widgets")

SCHEDULES_PATH = "/api/v1/price_schedules"
QUOTES_PATH = "/api/v1/price_quotes"
SERVICE = "flux_2"
#: How long a price list is trusted before it is revalidated (a 304 costs no body).
DEFAULT_TTL = 300.0


@dataclass(frozen=True)
class PriceList:
    """USD per image by (tier, action, resolution). ``source``: "live" or "catalog".

    ``prices[("pro", "1k")]`` reads the text-to-image price; ``prices(request)`` prices
    a request (it is a price lookup for ``money.check_budget``)."""

    by_model: Mapping[tuple[str, str, str], float | None]
    source: str = "catalog"
    as_of: str | None = None

    def price(self, tier: str, resolution: str, action: str = "text_to_image") -> float | None:
        return self.by_model.get((tier, action, resolution))

    def __call__(self, request: ImageRequest) -> float | None:
        return self.price(request.tier, request.resolution, request.action or "text_to_image")

    def __getitem__(self, key: tuple[str, str]) -> float | None:
        return self.price(*key)

    def items(self) -> list[tuple[tuple[str, str], float | None]]:
        """((tier, resolution), USD) of text-to-image, in catalog order."""
        return [((t, r), self.price(t, r)) for t, info in TIER_INFO.items() for r in info.resolutions]

    def as_dict(self) -> dict[tuple[str, str], float | None]:
        return dict(self.items())


def catalog_prices() -> PriceList:
    return PriceList({(t, a, r): PRICES.get((t, r)) for t, a in MODEL_IDS.values()
                      for r in TIER_INFO[t].resolutions}, "catalog")


def _schedule_prices(schedule: Mapping[str, Any]) -> dict[str, float | None] | None:
    """{resolution: USD} of one schedule, ``None`` if it is not a Flux 2 model we know."""
    model = schedule.get("model")
    if schedule.get("service", SERVICE) != SERVICE or not isinstance(model, str) or model not in MODEL_IDS:
        return None
    tier, _ = MODEL_IDS[model]
    unknown: dict[str, float | None] = {res: None for res in TIER_INFO[tier].resolutions}
    # Only a price that is available, in dollars, per call (one call makes one image) is
    # a price per image; anything else would be a guess.
    if (schedule.get("pricing_status") != "available" or schedule.get("currency", "USD") != "USD"
            or schedule.get("billing_unit", "call") != "call"):
        return unknown
    base = schedule.get("unit_price_cents")
    config = schedule.get("billing_config")
    overrides: Mapping[str, Any] = {}
    if isinstance(config, Mapping) and config.get("key") == "output_resolution" \
            and isinstance(config.get("overrides"), Mapping):
        overrides = config["overrides"]
    out: dict[str, float | None] = {}
    for res in unknown:
        cents = overrides.get(res, base)
        # JSON as Python reads it may say Infinity or NaN: neither is a price.
        valid = isinstance(cents, (int, float)) and not isinstance(cents, bool) and 0 <= cents < math.inf
        out[res] = round(cents / 100, 6) if valid else None
    return out


def parse_schedules(data: Any) -> PriceList:
    """A ``GET /api/v1/price_schedules`` answer as a price list (models it does not
    mention keep no price: unknown, not the catalog's)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("price_schedules"), list):
        raise ValueError("not a price-schedule answer")
    by_model: dict[tuple[str, str, str], float | None] = {
        (t, a, r): None for t, a in MODEL_IDS.values() for r in TIER_INFO[t].resolutions}
    for schedule in data["price_schedules"]:
        if not isinstance(schedule, Mapping):
            continue
        prices = _schedule_prices(schedule)
        if prices is None:
            continue
        tier, action = MODEL_IDS[schedule["model"]]
        for res, usd in prices.items():
            by_model[(tier, action, res)] = usd
    as_of = data.get("as_of")
    return PriceList(by_model, "live", as_of if isinstance(as_of, str) else None)


@dataclass
class PriceBook:
    """One endpoint's price list, fetched on demand and kept ``ttl`` seconds; after that
    it is revalidated with If-None-Match (a 304 keeps it). Safe for concurrent callers."""

    ttl: float = DEFAULT_TTL
    #: After a failed fetch, how long the fallback is used before asking again: every
    #: create under a budget cap reads the price, and must not retry a dead endpoint each time.
    retry_after_failure: float = 30.0
    _failed_at: float | None = None
    _list: PriceList | None = None
    _etag: str | None = None
    _fetched: float = 0.0
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    async def get(self, transport: Transport, *, learn: Callable[[bool], None] | None = None,
                  refresh: bool = False) -> PriceList:
        """The current list; the catalog's (``source="catalog"``) when the service cannot
        tell, and the last live one when a revalidation fails."""
        if not refresh and self._list is not None and time.monotonic() - self._fetched < self.ttl:
            return self._list
        if not refresh and self._failed_at is not None and \
                time.monotonic() - self._failed_at < self.retry_after_failure:
            return self._list or catalog_prices()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not refresh and self._list is not None and time.monotonic() - self._fetched < self.ttl:
                return self._list
            headers = {"If-None-Match": self._etag} if self._etag and self._list is not None else {}
            try:
                # Through the client's one road: its caps, deadlines and retries apply (the
                # service's price list is data from the network like any other).
                answer = await transport.request("GET", SCHEDULES_PATH, params={"service": SERVICE},
                                                 headers=headers, conditional=True)
            except Flux2Error as exc:
                log.info("price schedules unavailable (%s): using %s prices", type(exc).__name__,
                         "the last live" if self._list else "catalog")
                self._failed_at = time.monotonic()
                return self._list or catalog_prices()
            if learn is not None:
                learn(answer.from_simulator)
            if answer.status == 304 and self._list is not None:
                self._fetched = time.monotonic()
                return self._list
            try:
                fresh = parse_schedules(answer.data)
            except (ValueError, TypeError) as exc:
                log.info("price schedules unusable (%s): using %s prices", exc,
                         "the last live" if self._list else "catalog")
                self._failed_at = time.monotonic()
                return self._list or catalog_prices()
            self._list, self._etag, self._failed_at = fresh, answer.etag, None
            self._fetched = time.monotonic()
            return fresh


@dataclass(frozen=True)
class Quote:
    """What one request would cost. ``usd`` is ``None`` when nobody knows (a pending
    price); ``source``: "quote" (the service said so), "schedule" or "catalog"."""

    usd: float | None
    source: str
    as_of: str | None = None


def _quote_body(request: ImageRequest) -> dict[str, Any]:
    params = request.payload()
    model = params.pop("model")
    return {"service": SERVICE, "action": request.action, "model": model, "params": params}


async def fetch_quote(transport: Transport, request: ImageRequest,
                      fallback: PriceList) -> tuple[Quote, Answer | None]:
    """Ask ``POST /api/v1/price_quotes``; no answer, a service without quotes (404/405/501)
    or an answer not in the contract's shape falls back to ``fallback``. Other errors
    (a 422 for a request the service refuses, a 401) raise."""
    try:
        # A quote creates nothing, so it is as safe to send again as a GET.
        answer = await transport.request("POST", QUOTES_PATH, json_body=_quote_body(request), safe=True)
    except (NetworkError, APITimeoutError):
        return Quote(fallback(request), "schedule" if fallback.source == "live" else "catalog"), None
    except APIError as exc:
        if exc.status in (404, 405, 501):
            return Quote(fallback(request), "schedule" if fallback.source == "live" else "catalog"), None
        raise
    quote = answer.data.get("price_quote") if isinstance(answer.data, Mapping) else None
    cents = quote.get("reservation_amount_cents") if isinstance(quote, Mapping) else None
    if not isinstance(quote, Mapping) or not isinstance(cents, int) or isinstance(cents, bool):
        return Quote(fallback(request), "schedule" if fallback.source == "live" else "catalog"), answer
    as_of = quote.get("as_of") if isinstance(quote.get("as_of"), str) else None
    if quote.get("pricing_status") != "available" or quote.get("currency", "USD") != "USD":
        return Quote(None, "quote", as_of), answer  # pending: unknown, never "free"
    return Quote(round(cents / 100, 6), "quote", as_of), answer
