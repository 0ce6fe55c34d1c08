"""Blind A/B and vote statistics: the shuffle, votes recorded against the true sides,
Wilson intervals checked against hand computation, ties counted half, Bradley-Terry
strengths that satisfy their own likelihood equations, and the exports."""

from __future__ import annotations

import csv
import math

import pytest

from flux2_widgets import tally_votes
from flux2_widgets.compare import Comparison
from flux2_widgets.compare.plans import plan_prompts, plan_tiers
from flux2_widgets.compare.stats import bradley_terry, wilson_interval
from flux2_widgets.errors import ValidationError


def _tiers(client, *, blind: bool = False, seed: int | None = None, prompt: str = "a red fox in snow",
           tiers: tuple[str, ...] = ("pro", "flex")) -> Comparison:
    # Built from its plan and never started: votes need no images, and nothing is sent.
    plan = plan_tiers(prompt, tiers, "1k", "1:1")
    return Comparison(plan.cells, kind=plan.kind, title=plan.title, row_labels=plan.row_labels,
                      col_labels=plan.col_labels, sides=plan.sides, client=client, blind=blind, seed=seed)


def _prompts(client, a: str, b: str, **options) -> Comparison:
    plan = plan_prompts(a, b, "pro", "1k", "1:1")
    return Comparison(plan.cells, kind=plan.kind, title=plan.title, row_labels=plan.row_labels,
                      col_labels=plan.col_labels, sides=plan.sides, client=client, **options)


# ------------------------------------------------------------------------- Wilson, by hand


def test_wilson_interval_matches_hand_computation() -> None:
    # 8 of 10, z = 1.959964, z^2 = 3.841459:
    #   centre = (0.8 + 3.841459/20) / (1 + 3.841459/10) = 0.992073 / 1.384146 = 0.716740
    #   half   = 1.959964 / 1.384146 * sqrt(0.8*0.2/10 + 3.841459/400) = 1.416009 * 0.160012 = 0.226578
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.716740 - 0.226578, abs=2e-6)
    assert high == pytest.approx(0.716740 + 0.226578, abs=2e-6)
    # 0 of 5: centre = half = (3.841459/10) / 1.768292 = 0.217241 -> (0, 0.434482)
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.434482), abs=2e-6)
    # no trials: nothing is known
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_tally_counts_ties_half_and_gives_wilson_intervals(client) -> None:
    # Four Pro-vs-Flex tests: Pro, Pro, tie, Flex.
    cmps = [_tiers(client) for _ in range(4)]
    for cmp, choice in zip(cmps, ("pro", "pro", "tie", "flex"), strict=True):
        cmp.vote(choice)
    tally = tally_votes(cmps)
    pro, flex = tally["Pro"], tally["Flex"]
    assert (pro["wins"], pro["ties"], pro["trials"]) == (2.5, 1, 4)
    assert (flex["wins"], flex["ties"], flex["trials"]) == (1.5, 1, 4)
    assert pro["win_rate"] == 0.625 and flex["win_rate"] == 0.375
    # 2.5 of 4: p = 0.625, centre = (0.625 + 3.841459/8) / (1 + 3.841459/4) = 1.105182 / 1.960365
    # = 0.563763; half = 1.959964/1.960365 * sqrt(0.625*0.375/4 + 3.841459/64) = 0.999795 * 0.344405
    assert pro["ci_low"] == pytest.approx(0.563763 - 0.344335, abs=1e-5)
    assert pro["ci_high"] == pytest.approx(0.563763 + 0.344335, abs=1e-5)
    # symmetric: Flex's interval mirrors Pro's
    assert flex["ci_low"] == pytest.approx(1 - pro["ci_high"], abs=1e-9)
    assert tally.ranking == ["Pro", "Flex"]
    assert tally.votes == 4 and tally.comparisons == 4
    assert pro["bt_strength"] is None, "two variants: no Bradley-Terry fit needed"


# ------------------------------------------------------------------------- blind A/B


def test_blind_order_is_deterministic_per_seed_and_stored(client) -> None:
    orders = {tuple(_tiers(client, blind=True, seed=s).order) for s in range(40)}
    assert orders == {(0, 1), (1, 0)}, "the shuffle puts each tier on either side"
    a, b = _tiers(client, blind=True, seed=7), _tiers(client, blind=True, seed=7)
    assert a.order == b.order and a.seed == 7
    unseeded = _tiers(client, blind=True)
    assert isinstance(unseeded.seed, int), "a random seed is kept, so the order can be told later"
    assert _tiers(client).order == [0, 1] and _tiers(client).seed is None


def test_blind_votes_land_on_the_true_side(client) -> None:
    for seed in range(6):
        cmp = _tiers(client, blind=True, seed=seed)
        assert not cmp.revealed
        left_tier = cmp.cells[cmp.order[0]].request.tier
        record = cmp.vote("left")
        assert record["choice"] == left_tier and record["shown_as"] == "left" and record["blind"] is True
        assert cmp.revealed
        # a later vote is not blind any more: the labels are out
        assert cmp.vote("right")["blind"] is False
        assert tally_votes(cmp, blind_only=True)[left_tier.title()]["wins"] == 1


def test_blind_hides_labels_in_repr_and_html(client) -> None:
    cmp = _tiers(client, blind=True, seed=3)
    for text in (repr(cmp), str(cmp), cmp._repr_html_()):
        assert "Pro" not in text and "Flex" not in text and "$" not in text
    cmp.vote("tie")
    assert "Pro" in repr(cmp) and "Flex" in cmp._repr_html_()


def test_blind_needs_two_sides(client) -> None:
    with pytest.raises(ValidationError, match="two sides") as info:
        _tiers(client, blind=True, tiers=("pro", "flex", "max"))
    assert info.value.field == "blind"
    with pytest.raises(ValidationError, match="left, right"):
        _tiers(client, blind=True).vote("middle")


# ------------------------------------------------------------------------- many variants


def test_bradley_terry_ranks_three_prompts_and_solves_its_equations(client) -> None:
    p1, p2, p3 = "a fox, plain", "a fox, film photo", "a fox, watercolor"
    votes = {(p1, p2): ("b", "b", "a"), (p2, p3): ("a", "a", "tie"), (p1, p3): ("a", "b", "a")}
    cmps = []
    for (a, b), choices in votes.items():
        for choice in choices:
            cmp = _prompts(client, a, b)
            cmp.vote(choice)
            cmps.append(cmp)
    tally = tally_votes(cmps)
    rows = {r["variant"]: r for r in tally.rows()}
    # p2 beat p1 twice and lost once, beat p3 twice and tied once: clearly first.
    assert tally.ranking[0] == p2
    assert rows[p2]["wins"] == 2 + 2.5 and rows[p2]["trials"] == 6
    strengths = {v: r["bt_strength"] for v, r in rows.items()}
    assert sum(strengths.values()) == pytest.approx(1.0)
    # The fit is the maximum-likelihood one: each variant's expected wins equal its wins.
    beat = {p1: {p2: 1, p3: 2}, p2: {p1: 2, p3: 2.5}, p3: {p1: 1, p2: 0.5}}
    for i in beat:
        expected = sum((beat[i].get(j, 0) + beat[j].get(i, 0)) * strengths[i] / (strengths[i] + strengths[j])
                       for j in beat if j != i)
        assert expected == pytest.approx(sum(beat[i].values()), abs=1e-6)
    assert [r["rank"] for r in tally.rows()] == [1, 2, 3]


def test_bradley_terry_cycle_is_a_three_way_tie() -> None:
    strengths = bradley_terry({"a": {"b": 2, "c": 1}, "b": {"c": 2, "a": 1}, "c": {"a": 2, "b": 1}})
    assert all(math.isclose(v, 1 / 3, abs_tol=1e-8) for v in strengths.values())


def test_by_side_counts_positions_not_prompts(client) -> None:
    a = _prompts(client, "a cat on a mat", "a cat on a mat, golden hour")
    b = _prompts(client, "a dog in a park", "a dog in a park, golden hour")
    a.vote("b")
    b.vote("b")
    by_side = tally_votes([a, b], by="side")
    assert by_side["B"]["wins"] == 2 and by_side["A"]["trials"] == 2
    assert len(tally_votes([a, b]).rows()) == 4, "by variant: four different prompts"


def test_tally_refuses_bad_input(client) -> None:
    with pytest.raises(ValidationError) as info:
        tally_votes([_tiers(client), "not a comparison"])
    assert info.value.field == "comparisons"
    with pytest.raises(ValidationError) as info:
        tally_votes([_tiers(client)], by="colour")
    assert info.value.field == "by"


def test_tally_exports(client, tmp_path) -> None:
    cmp = _tiers(client)
    cmp.vote("pro")
    tally = tally_votes([cmp])
    path = tally.to_csv(tmp_path / "votes.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["variant"] for r in rows] == ["Pro", "Flex"]
    assert set(rows[0]) >= {"rank", "wins", "ties", "trials", "win_rate", "ci_low", "ci_high", "bt_strength"}
    frame = tally.to_pandas()
    assert list(frame["variant"]) == ["Pro", "Flex"]
    assert "Wilson" in str(tally) and "<table>" in tally._repr_html_()


def test_blind_arguments_are_checked_before_anything_is_sent(client, sim) -> None:
    from flux2_widgets import compare_prompts, compare_tiers

    bad_options = ({"blind": "yes"}, {"blind": True, "seed": 1.5},
                   {"blind": True, "tiers": ("pro", "flex", "max")})
    for bad in bad_options:
        with pytest.raises(ValidationError) as info:
            compare_tiers("a red fox in snow", client=client, **bad)
        assert info.value.field in ("blind", "seed")
    assert sim.count() == 0, "refused before any request"
    cmp = compare_prompts("a cat on a mat", "a cat on a mat, film photo", client=client, blind=True,
                          seed=4).wait()
    assert cmp.blind and cmp.seed == 4 and not cmp.revealed and cmp.done
    assert cmp.vote("a")["shown_as"] == cmp.position("a")
