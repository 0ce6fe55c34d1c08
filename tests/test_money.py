"""Money wording and sums, the one home for them (``flux2_widgets.money``)."""

from __future__ import annotations

import pytest

from flux2_widgets.money import cost_text, format_usd, session_text, sum_costs, sum_text


@pytest.mark.parametrize(("amount", "text"), [
    (None, "n/a"), (0, "$0.00"), (0.05, "$0.05"), (0.005, "$0.005"), (0.24, "$0.24"), (1234.5, "$1,234.50"),
    (0.0004, "< $0.001"),  # real money never reads as $0.00
])
def test_amounts_read_the_same_everywhere(amount, text):
    assert format_usd(amount) == text


def test_a_cost_says_what_it_is():
    assert cost_text(0.24, "billed") == "$0.24"
    assert cost_text(0.24, "estimate") == "about $0.24"
    assert cost_text(0.24, "billed", simulated=True) == "would have cost $0.24"
    assert cost_text(None) == "price n/a"


def test_sums_admit_what_they_do_not_know():
    assert sum_costs([0.05, None, 0.14]) == (0.19, 1)
    assert sum_text(0.19, 1) == "$0.19 + n/a" and sum_text(0.0, 2) == "n/a" and sum_text(0.19, 0) == "$0.19"


def test_a_session_total_never_calls_unknown_money_zero():
    assert session_text(0.0, 0.0, 2, 2, simulated=False) == "2 images at an unknown price"
    assert session_text(0.10, 0.0, 1, 3, simulated=False) == "$0.10 billed + 1 at an unknown price"
    assert session_text(0.10, 0.14, 0, 2, simulated=False) == "$0.10 billed + about $0.14 estimated"
    assert session_text(0.10, 0.0, 0, 2, simulated=True) == "would have cost $0.10"
    assert session_text(0.0, 0.0, 0, 0, simulated=False) == "nothing billed yet"  # never "$0.00"
    assert session_text(0.0, 0.0, 0, 0, simulated=False, may_be_billed=0.10) == (
        "nothing billed yet + about $0.10 may still be billed")
    assert session_text(0.05, 0.0, 0, 1, simulated=False, may_be_billed=0.14) == (
        "$0.05 billed + about $0.14 may still be billed")
