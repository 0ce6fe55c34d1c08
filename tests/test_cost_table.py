"""Cost tables: plans priced from the catalog before anything runs, finished comparisons
with estimated vs billed per cell (billed = what the simulator charged), and budgets that
refuse a plan before a single request."""

from __future__ import annotations

import pytest

from flux2_widgets import catalog, money
from flux2_widgets.client import PollPolicy
from flux2_widgets.compare import compare_grid, compare_prompts, compare_tiers, cost_table
from flux2_widgets.errors import BudgetExceededError, ValidationError

#: Quick first status check for 0.1 s tasks (the default waits 0.25 s before the first poll).
FAST_POLL = PollPolicy(first=0.05, min_interval=0.02)
KEY = "test-key-costs"


def _total_line(table) -> str:
    return next(line for line in str(table).splitlines() if line.startswith("total"))




def test_plan_prices_are_catalog_prices_times_counts():
    table = cost_table(tiers=("pro", "flex"), resolutions=("1k", "2k"), images=3)
    assert [(r["tier"], r["resolution"]) for r in table.rows] == [
        ("Pro", "1k"), ("Pro", "2k"), ("Flex", "1k"), ("Flex", "2k")]
    for row, (tier, res) in zip(table.rows, [("pro", "1k"), ("pro", "2k"), ("flex", "1k"), ("flex", "2k")],
                                strict=True):
        assert row["unit_price"] == catalog.price(tier, res)
        assert row["estimated_cost"] == pytest.approx(catalog.price(tier, res) * 3)
        assert row["size"] == "{}x{}".format(*catalog.pixel_size("1:1", res))
    expected = sum(catalog.price(t, r) for t in ("pro", "flex") for r in ("1k", "2k")) * 3
    assert table.total_estimated == pytest.approx(expected)
    assert money.format_usd(expected) in _total_line(table)
    assert "<table" in table._repr_html_() and money.format_usd(expected) in table._repr_html_()
    frame = table.to_pandas()
    assert list(frame["estimated_cost"]) == pytest.approx([r["estimated_cost"] for r in table.rows])


def test_unpublished_price_shows_na_and_the_total_says_so():
    table = cost_table(tiers=("pro", "max"), resolutions=("1k", "2k"))
    by_key = {(r["tier"], r["resolution"]): r for r in table.rows}
    assert by_key[("Max", "1k")]["unit_price"] is None
    # what does not exist is said once, in a note, not listed as a row of zeros
    assert ("Max", "2k") not in by_key and len(table.rows) == 3
    assert "Max · 2k is not offered (Max: 1k only)" in table.notes
    assert table.title == "Cost plan: 3 combinations x 1 image"
    known = catalog.price("pro", "1k") + catalog.price("pro", "2k")
    assert _total_line(table).endswith(f"{money.format_usd(known)} + n/a")
    max_line = next(line for line in str(table).splitlines() if line.startswith("Max    1k"))
    assert "n/a" in max_line


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tiers": ("pro", "turbo")}, "unknown tier 'turbo'"),
    ({"resolutions": ()}, "resolutions is empty"),
    ({"images": 0}, "from 1 to 10,000"),
    ({"aspect_ratio": "7:5"}, "aspect_ratio '7:5'"),
])
def test_plan_bad_arguments(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        cost_table(**kwargs)


def test_finished_comparison_estimated_vs_billed(sim, client):
    cmp = compare_grid(["a harbour at noon"], tiers=("pro", "flex"), resolutions=("1k", "2k"), client=client)
    before = cmp.cost_table()  # while running: estimates only
    assert before.total_estimated == pytest.approx(sum(
        catalog.price(t, r) for t in ("pro", "flex") for r in ("1k", "2k")))
    cmp.wait(10)
    table = cmp.cost_table()
    charged = dict(sim.stats.charges)
    for row, cell in zip(table.rows, cmp.cells, strict=True):
        assert row["estimated_cost"] == catalog.price(cell.request.tier, cell.request.resolution)
        assert row["billed_cost"] == pytest.approx(charged[cell.task.id])
    assert table.total_billed == pytest.approx(sim.stats.total_charged)
    assert table.total_estimated == pytest.approx(before.total_estimated)
    assert cmp.billed_cost == pytest.approx(sim.stats.total_charged)
    assert "SIMULATED" in str(table)
    assert _total_line(table).endswith(money.format_usd(sim.stats.total_charged))
    assert list(cmp.cost_table().to_pandas()["billed_cost"]) == pytest.approx(
        [charged[c.task.id] for c in cmp.cells])


def test_failed_cell_is_billed_nothing(sim, client):
    sim.inject("fail_task")
    cmp = compare_tiers("a mossy stone bridge", client=client).wait(10)
    table = cmp.cost_table()
    failed = [r for r in table.rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["billed_cost"] == 0 and "not charged" in failed[0]["note"]
    assert table.total_billed == pytest.approx(sim.stats.total_charged)


def test_max_in_a_comparison_totals_with_na(sim, client):
    cmp = compare_tiers("a marble statue", tiers=("pro", "max"), client=client).wait(10)
    table = cmp.cost_table()
    assert table.rows[1]["estimated_cost"] is None
    assert f"{money.format_usd(catalog.price('pro', '1k'))} + n/a" in _total_line(table)
    assert "n/a" in cmp.total_text


def test_budget_refuses_before_anything_is_sent(sim, client):
    with pytest.raises(BudgetExceededError) as info:
        compare_grid(["a fox", "a hare"], tiers=("pro", "flex"), budget=0.20, client=client)
    message = str(info.value)
    estimate = 2 * (catalog.price("pro", "1k") + catalog.price("flex", "1k"))
    assert money.format_usd(estimate) in message and "$0.20" in message
    assert "Nothing was sent" in message and "Pro instead of Flex" in message
    with pytest.raises(BudgetExceededError, match="not published"):
        compare_tiers("a red fox", tiers=("pro", "max"), budget=5, client=client)
    assert sim.count() == 0
    # exactly at the budget is allowed
    cmp = compare_prompts("a red fox", "a red fox, oil painting", budget=2 * catalog.price("pro", "1k"),
                          client=client).wait(10)
    assert all(c.ok for c in cmp.cells)


def test_a_billed_total_never_claims_an_up_to_that_leaves_out_an_unpriced_cell() -> None:
    from flux2_widgets.compare.costs import _billed_total

    assert _billed_total(0.19, 0, 0.14) == "$0.19 + up to $0.14 may still be billed"
    assert _billed_total(0.0, 0, 0.14) == "up to $0.14 may still be billed"
    assert _billed_total(0.0, 0, 0.0, 1) == "n/a may still be billed"  # a stopped Max cell alone
    assert _billed_total(0.05, 0, 0.14, 1) == "$0.05 + $0.14 + n/a may still be billed"
    assert _billed_total(0.05, 0, 0.0) == 0.05
