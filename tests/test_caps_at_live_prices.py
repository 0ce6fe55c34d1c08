"""A cap holds at what the service charges, not at the catalog's prices: grids, comparisons,
arenas, batches, the folder's ledger and the Studio all check it against the live price list,
and while that list cannot be read nothing is sent under a cap. A task whose status answered
404 may still be billed: Retry asks about it again and never sends a second one."""

from __future__ import annotations

import asyncio

import pytest
from conftest import SECRET_KEY, until

from flux2_widgets import (
    Arena,
    AsyncFlux2Client,
    BudgetExceededError,
    Flux2Client,
    ImageRequest,
    PollPolicy,
    ResultStore,
    compare_tiers,
    grid,
)
from flux2_widgets.session import StudioSession

FAST = PollPolicy(first=0.02, min_interval=0.01)
DEAR = {("pro", "1k"): 0.30, ("flex", "1k"): 0.60}  # the catalog says $0.05 and $0.14


def test_every_cap_is_checked_at_the_live_price(make_sim, tmp_path):
    sim = make_sim(latency=0.05, prices=DEAR)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, simulated=False,
                     store=ResultStore(tmp_path / "results")) as client:
        plan = grid("a {animal} in snow", animal=["fox", "owl", "hare", "cat"])
        assert plan.estimate()[0] == pytest.approx(0.20)  # fits $0.25 at the catalog's price
        with pytest.raises(BudgetExceededError, match=r"4 × Pro · 1k at \$0\.30"):
            plan.run(client=client, budget=0.25)
        with pytest.raises(BudgetExceededError, match=r"\$0\.60"):
            compare_tiers("a red fox in fresh snow", client=client, budget=0.25)
        with pytest.raises(BudgetExceededError):
            Arena.create("dear", ["a red fox in fresh snow"], tier=["pro", "flex"], client=client,
                         budget=0.25)
        with pytest.raises(BudgetExceededError):
            client.generate_many(["a red fox in fresh snow"] * 2, budget=0.50)
        assert sim.count("POST") == 0
        cmp = compare_tiers("a red fox in fresh snow", client=client, budget=0.90).wait(30)
        assert cmp.total_cost == pytest.approx(0.90) == pytest.approx(sim.stats.total_charged)


def test_with_the_price_list_unreadable_nothing_is_sent_under_a_cap(make_sim, tmp_path):
    sim = make_sim(latency=0.05, prices=DEAR)
    store = ResultStore(tmp_path / "results")
    store.workspace.budget.set_cap(total=0.50)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, simulated=False, store=store,
                     max_retries=0) as client:
        sim.inject("503", times=1, on="get")  # the price list's read meets an outage
        assert client.prices().source == "catalog"
        with pytest.raises(BudgetExceededError, match="price list could not be read") as info:
            client.generate("a red fox in fresh snow")
        assert info.value.code == "prices_unavailable"
        assert sim.count("POST") == 0 and store.workspace.budget.status().reserved == 0.0
        assert store.unanswered(sim.url) == [], "the refused create is logged as refused, not for resume()"
        assert client.prices(refresh=True).source == "live"  # the service answers again
        client.generate("a red fox in fresh snow")
        status = store.workspace.budget.status()
        assert status.spent == pytest.approx(0.30) and status.reserved == 0.0
        with pytest.raises(BudgetExceededError):  # $0.30 of $0.50 spent: a second is refused
            client.generate("a red fox in fresh snow")
    assert sim.stats.tasks_created == 1


def test_a_studio_with_a_cap_waits_for_the_price_list(make_sim, tmp_path):
    sim = make_sim(latency=0.05, prices=DEAR)

    async def main() -> None:
        client = AsyncFlux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, simulated=False,
                                  max_retries=0)
        session = StudioSession(client, budget=0.40, save_dir=tmp_path / "results")
        sim.inject("503", times=1, on="get")
        session.refresh_balance()
        await until(lambda: session._prices_failed, what="the failed read")
        with pytest.raises(BudgetExceededError, match="price list could not be read"):
            session.generate(ImageRequest("a red fox in fresh snow"), 2)
        assert sim.count("POST") == 0
        await until(lambda: session.prices is not None, what="the price list read again")
        with pytest.raises(BudgetExceededError, match=r"\$0\.30"):  # 2 x $0.30 > $0.40
            session.generate(ImageRequest("a red fox in fresh snow"), 2)
        [run] = session.generate(ImageRequest("a red fox in fresh snow"), 1)
        await until(lambda: run.done, what="the image")
        assert run.cost == pytest.approx(0.30) and sim.count("POST") == 1
        session.close()
        await client.aclose()

    asyncio.run(main())


def test_a_task_whose_status_answered_404_is_asked_about_again_never_sent_twice(make_sim):
    sim = make_sim(latency=0.3)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, simulated=False) as client:
        from flux2_widgets.client._core import POLL_404_TOLERANCE

        sim.inject("poll_404", times=2 * (POLL_404_TOLERANCE + 1))  # both told "not found" till they give up
        cmp = compare_tiers("a red fox in fresh snow", client=client).wait(30)
        failed = [c for c in cmp.cells if c.status == "failed"]
        assert failed
        assert all(c.money == "may still be billed" and c.run.next_step == "resume" for c in failed)
        for cell in failed:
            assert cmp.retry(cell) == "resume"
        cmp.wait(30)
        assert sim.stats.tasks_created == 2, "the same two tasks, none sent again"
        assert all(c.status == "completed" for c in cmp.cells)
        assert cmp.total_cost == pytest.approx(sim.stats.total_charged)


def test_a_demo_on_the_simulator_never_spends_the_folders_real_cap(make_sim, tmp_path):
    store = ResultStore(tmp_path / "results")
    store.workspace.budget.set_cap(total=0.10)
    with Flux2Client(store=store, poll=FAST) as demo:  # no key: the embedded simulator
        assert demo.simulated
        assert all(not isinstance(r, Exception) for r in demo.generate_many(["a red fox in snow"] * 3))
    status = store.workspace.budget.status()
    assert status.spent == 0.0 and status.reserved == 0.0 and status.left == pytest.approx(0.10)
    assert store.workspace.budget.status("simulated:workspace").spent == pytest.approx(0.15)  # kept apart
    sim = make_sim(latency=0.05)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, simulated=False, store=store) as real:
        real.generate_many(["a red fox in snow"] * 2)  # the real cap is whole: two fit
        with pytest.raises(BudgetExceededError):
            real.generate("a red fox in snow")
    assert store.workspace.budget.status().spent == pytest.approx(0.10)
