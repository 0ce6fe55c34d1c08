"""Live prices against the strict simulator: the price schedule (cached, revalidated by
ETag), quotes, budgets checked with what the service charges, and the catalog as the
fallback when the service cannot be asked."""

from __future__ import annotations

import asyncio
import socket

import pytest
from conftest import SECRET_KEY

from flux2_widgets import AsyncFlux2Client, Flux2Client, errors
from flux2_widgets.catalog import PRICES, ImageRequest, price
from flux2_widgets.client._pricing import catalog_prices
from flux2_widgets.money import check_budget, estimate

SCHEDULES = "/api/v1/price_schedules"


def run(coro):
    return asyncio.run(coro)


def test_prices_come_from_the_schedule_and_are_revalidated_by_etag(sim) -> None:
    async def main():
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url) as client:
            first = await client.prices()
            cached = await client.prices()
            again = await client.prices(refresh=True)
            return first, cached, again

    first, cached, again = run(main())
    assert first.source == "live" and first.as_of
    assert first.as_dict() == PRICES  # the simulator publishes the catalog's
    assert first[("max", "1k")] is None  # pending: unknown, not free
    assert cached is first and again is first
    statuses = [status for method, path, status in sim.stats.requests if path == SCHEDULES]
    assert statuses == [200, 304]  # the cached call sent nothing; the refresh got a 304


def test_a_service_price_replaces_the_catalog_and_gives_max_one(make_sim) -> None:
    sim = make_sim(latency=0.05, prices={("max", "1k"): 0.12, ("pro", "2k"): 0.08})
    with Flux2Client(SECRET_KEY, base_url=sim.url) as client:
        prices = client.prices()
        assert prices[("max", "1k")] == 0.12 and prices[("pro", "2k")] == 0.08
        assert prices.price("max", "1k", "remix_image") == 0.12
        assert prices[("flex", "1k")] == price("flex", "1k")
        top = ImageRequest("a lighthouse", tier="max")
        assert check_budget([top] * 2, budget=0.30, prices=prices) == pytest.approx(0.24)
        with pytest.raises(errors.BudgetExceededError, match="not published"):
            check_budget([top], budget=0.30)  # the catalog alone cannot price Max
        assert estimate([top, ImageRequest("a fox")], prices) == (pytest.approx(0.17), 0)
        assert estimate([top, ImageRequest("a fox")]) == (pytest.approx(0.05), 1)


def test_budgets_of_a_batch_use_what_the_service_charges(make_sim) -> None:
    sim = make_sim(latency=0.05, prices={("pro", "1k"): 0.10})

    async def main():
        async with AsyncFlux2Client(SECRET_KEY, base_url=sim.url) as client:
            with pytest.raises(errors.BudgetExceededError) as info:
                await client.generate_many(["a fox at dusk"] * 3, budget=0.25)  # catalog: $0.15
            return info.value

    err = run(main())
    assert "$0.30" in str(err) and "Nothing was sent" in str(err)
    assert sim.count("POST") == 0


def test_quotes_price_one_request_and_never_call_an_unknown_price_free(make_sim) -> None:
    sim = make_sim(latency=0.05)
    with Flux2Client(SECRET_KEY, base_url=sim.url) as client:
        quote = client.quote("a fox in snow", tier="flex", resolution="2k")
        assert quote.usd == price("flex", "2k") and quote.source == "quote" and quote.as_of
        pending = client.quote("a fox in snow", tier="max")
        assert pending.usd is None and pending.source == "quote"
        with pytest.raises(errors.ValidationError):
            client.quote("a fox in snow", tier="max", enable_safety_checker=True)
    assert sim.count("POST", "/api/v1/price_quotes") == 2 and sim.stats.tasks_created == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_catalog_is_the_fallback_when_the_service_cannot_be_asked() -> None:
    async def main():
        async with AsyncFlux2Client(SECRET_KEY, base_url=f"http://127.0.0.1:{_closed_port()}",
                                    max_retries=0) as client:
            return await client.prices(), await client.quote("a fox in snow", tier="flex"),\
                await client.quote("a fox in snow", tier="max")

    offline, quote, unknown = run(main())
    assert offline.source == "catalog" and offline.as_dict() == catalog_prices().as_dict() == PRICES
    assert (quote.usd, quote.source) == (price("flex", "1k"), "catalog")
    assert unknown.usd is None  # Max: no price offline, and never zero


def test_asking_for_prices_settles_live_or_simulated(sim) -> None:
    with Flux2Client(SECRET_KEY, base_url=sim.url) as client:
        assert not client.simulated  # a key: live until the server says otherwise
        client.prices()
        assert client.simulated  # the simulator named itself


def test_cost_tables_can_use_the_live_price_list(make_sim) -> None:
    from flux2_widgets.compare import cost_table

    sim = make_sim(latency=0.05, prices={("max", "1k"): 0.12, ("flex", "2k"): 0.30})
    with Flux2Client(SECRET_KEY, base_url=sim.url) as client:
        live = cost_table(("flex", "max"), ("1k", "2k"), images=2, prices=client.prices())
    offline = cost_table(("flex", "max"), ("1k", "2k"), images=2)
    by_key = {(r["tier"], r["resolution"]): r for r in live.rows}
    assert by_key[("Max", "1k")]["unit_price"] == 0.12 and by_key[("Flex", "2k")]["estimated_cost"] == 0.60
    assert live.totals["estimated_cost"] == pytest.approx(2 * (price("flex", "1k") + 0.30 + 0.12))
    assert live.totals["estimated_cost_unknown"] == 0 and "live price list" in live.notes[0]
    assert offline.totals["estimated_cost_unknown"] == 1 and "catalog" in offline.notes[0]
