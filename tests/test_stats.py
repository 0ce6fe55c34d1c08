"""Blind A/B and vote statistics: the shuffle, votes recorded against the true sides,
Wilson intervals checked against hand computation, ties counted half, Bradley-Terry
strengths that satisfy their own likelihood equations, and the exports; the sequential
stop rule against simulated and exact error rates under repeated looks (and the naive
rule it replaces failing them), fixed-n sample sizes, and bootstrap intervals."""

from __future__ import annotations

import csv
import functools
import math
import random

import pytest

from flux2_widgets import tally_votes
from flux2_widgets.compare import Comparison
from flux2_widgets.compare.plans import plan_prompts, plan_tiers
from flux2_widgets.compare.stats import (
    bradley_terry,
    bradley_terry_intervals,
    fixed_sample_size,
    sequential_test,
    wilson_interval,
)
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


# ------------------------------------------------------------------------- a stop rule for many looks


@functools.cache
def _verdict(wins_a: int, wins_b: int) -> str:
    # sequential_test is a pure function of the counts, so each (a, b) is asked once.
    return sequential_test(wins_a, wins_b).verdict


@functools.cache
def _naive_wilson(wins_a: int, wins_b: int) -> str:
    # The rule a dashboard is tempted by: a winner as soon as the 95% Wilson interval leaves 1/2.
    low, high = wilson_interval(wins_a, wins_a + wins_b)
    return "a" if low > 0.5 else "b" if high < 0.5 else "undecided"


def _first_verdicts(rule, p_a: float, *, tests: int, looks: int, seed: int) -> list[tuple[str, int] | None]:
    """Simulate ``tests`` A/Bs with P(a wins a vote) = p_a, asking ``rule`` after every vote
    and stopping at its first verdict: (side, votes) or None if it never decided."""
    rng = random.Random(seed)
    out: list[tuple[str, int] | None] = []
    for _ in range(tests):
        a = b = 0
        found = None
        for n in range(1, looks + 1):
            if rng.random() < p_a:
                a += 1
            else:
                b += 1
            verdict = rule(a, b)
            if verdict != "undecided":
                found = (verdict, n)
                break
        out.append(found)
    return out


def _exact_verdict_chance(p_a: float, looks: int) -> float:
    """P(the sequential test ever decides within ``looks`` votes), summed exactly over every
    path: the probability of each still-undecided count, carried forward one vote at a time."""
    alive = {0: 1.0}  # wins_a -> probability, among paths with no verdict yet
    decided = 0.0
    for n in range(1, looks + 1):
        nxt: dict[int, float] = {}
        for a, prob in alive.items():
            nxt[a + 1] = nxt.get(a + 1, 0.0) + prob * p_a
            nxt[a] = nxt.get(a, 0.0) + prob * (1 - p_a)
        alive = {}
        for a, prob in nxt.items():
            if _verdict(a, n - a) == "undecided":
                alive[a] = prob
            else:
                decided += prob
    return decided


def test_sequential_test_keeps_its_error_rate_however_often_it_is_read() -> None:
    # No true preference, read after every one of 500 votes, 2,000 times.
    runs = _first_verdicts(_verdict, 0.5, tests=2000, looks=500, seed=19)
    false_verdicts = sum(r is not None for r in runs)
    assert false_verdicts <= 0.05 * 2000, f"{false_verdicts} false verdicts in 2000"
    # The same figure without simulation noise: 3.4%, under the 5% that alpha promises.
    assert _exact_verdict_chance(0.5, 500) == pytest.approx(0.0340, abs=5e-4)


def test_the_naive_wilson_rule_fails_that_bar() -> None:
    # The same harness catches a rule that is not anytime-valid: nearly half the no-preference
    # tests end in a "winner" when a fixed-n interval is re-read after every vote.
    runs = _first_verdicts(_naive_wilson, 0.5, tests=2000, looks=500, seed=19)
    assert sum(r is not None for r in runs) > 0.3 * 2000


def test_sequential_test_finds_a_70_30_preference_within_200_votes() -> None:
    for p_a, side, seed in ((0.7, "a", 21), (0.3, "b", 22)):
        runs = _first_verdicts(_verdict, p_a, tests=2000, looks=200, seed=seed)
        right = sum(r is not None and r[0] == side for r in runs)
        assert right >= 0.8 * 2000, (p_a, right)
        assert sum(r is not None and r[0] != side for r in runs) <= 2, "almost never the wrong side"
        median = sorted(r[1] for r in runs if r is not None)[len(runs) // 2]
        assert 30 <= median <= 90, median
    assert _exact_verdict_chance(0.7, 200) > 0.99


def _mixture_ratio(wins_a: int, wins_b: int, p0: float) -> float:
    # The Beta(3, 3) mixture likelihood by numerical integration (midpoint rule), over the
    # likelihood at p0: the martingale from its definition, not from the closed form.
    steps = 20_000
    density = 30.0  # 1 / B(3, 3)
    mix = sum(density * (x * (1 - x)) ** 2 * x ** wins_a * (1 - x) ** wins_b
              for x in ((i + 0.5) / steps for i in range(steps))) / steps
    return mix / (p0 ** wins_a * (1 - p0) ** wins_b)


def test_the_verdicts_line_speaks_of_the_side_ahead() -> None:
    behind = sequential_test(1, 4, ties=1)
    line = behind.text("Pro", "Flex")
    assert line.startswith("No verdict yet: Flex wins 80% of 5 decisive votes (95% anytime-valid interval ")
    low, high = (float(x.rstrip("%")) / 100 for x in line.split("interval ")[1].split(")")[0].split("–"))
    assert low == pytest.approx(1 - behind.high, abs=0.005)
    assert high == pytest.approx(1 - behind.low, abs=0.005)
    assert line.endswith("1 tie set aside")
    assert sequential_test(4, 1).text("Pro", "Flex").startswith("No verdict yet: Pro wins 80% of 5")


def test_sequential_interval_and_evidence_match_their_definition() -> None:
    # 10-0: B(13, 3) / B(3, 3) * 2^10 = (2 / 2730) * 30 * 1024 = 22.505 >= 20: a verdict.
    ten = sequential_test(10, 0)
    assert ten.evidence == pytest.approx(60 / 2730 * 1024, rel=1e-12)
    assert ten.verdict == "a" and ten.decided and ten.high == 1.0
    # 9-0: (2 / 2184) * 30 * 512 = 14.07 < 20: not yet. And at alpha 0.01 10-0 is not enough.
    assert sequential_test(9, 0).evidence == pytest.approx(60 / 2184 * 512, rel=1e-12)
    assert sequential_test(9, 0).verdict == "undecided"
    assert sequential_test(10, 0, alpha=0.01).verdict == "undecided"
    assert sequential_test(0, 10).verdict == "b" and sequential_test(0, 10).low == 0.0
    for a, b in ((7, 3), (12, 4), (3, 9), (20, 20)):
        res = sequential_test(a, b)
        assert res.evidence == pytest.approx(_mixture_ratio(a, b, 0.5), rel=1e-6)
        # the interval's ends are where the martingale reaches 1 / alpha
        for end in (res.low, res.high):
            assert _mixture_ratio(a, b, end) == pytest.approx(20.0, rel=1e-6)
        assert res.low < a / (a + b) < res.high
        assert res.p_value == pytest.approx(min(1.0, 1 / res.evidence))


def test_sequential_verdict_is_exactly_one_half_leaving_the_interval() -> None:
    for n in range(0, 120, 3):
        for a in range(n + 1):
            res = sequential_test(a, n - a)
            outside = res.low > 0.5 - 1e-12 or res.high < 0.5 + 1e-12
            assert res.decided == outside, (a, n - a, res)
            assert res.decided == (res.evidence >= res.threshold) == (res.p_value <= 0.05)
            if res.decided:
                assert res.verdict == ("a" if a > n - a else "b")


def test_a_tie_never_moves_the_sequential_test() -> None:
    for a, b in ((0, 0), (9, 0), (10, 0), (30, 18), (18, 30), (100, 100)):
        base = sequential_test(a, b)
        for ties in (1, 7, 500):
            res = sequential_test(a, b, ties=ties)
            assert (res.verdict, res.low, res.high, res.evidence) == (
                base.verdict, base.low, base.high, base.evidence)
            assert res.votes == a + b + ties and res.decisive == a + b and res.ties == ties
    assert "3 ties set aside" in sequential_test(12, 2, ties=3).text("Pro", "Flex")
    # 14-2 is not yet a verdict (evidence 19.3 of 20); 15-2 is
    assert sequential_test(14, 2).text("Pro", "Flex").startswith("No verdict yet: Pro wins 88%")
    assert sequential_test(15, 2).text("Pro", "Flex").startswith("Pro preferred: Pro wins 88%")
    assert sequential_test(0, 0).estimate is None and sequential_test(0, 0).high == 1.0


def test_sequential_test_refuses_bad_counts_and_alpha() -> None:
    bad_counts = (-1, 2.5, math.nan, math.inf, True, "3", None)
    for name in ("wins_a", "wins_b", "ties"):
        for bad in bad_counts:
            args = {"wins_a": 1, "wins_b": 1, "ties": 0, name: bad}
            with pytest.raises(ValidationError, match=name) as info:
                sequential_test(args["wins_a"], args["wins_b"], ties=args["ties"])
            assert info.value.field == name
    for bad in (0, 0.0, 0.51, 1, -0.1, math.nan, True, "0.05"):
        with pytest.raises(ValidationError) as info:
            sequential_test(3, 1, bad)
        assert info.value.field == "alpha"
    assert sequential_test(3.0, 1, 0.5).wins_a == 3, "a whole float is a count"


# ------------------------------------------------------------------------- what a fixed test costs


def _exact_power(n: int, p_a: float, alpha: float) -> float:
    # A two-sided binomial test of p = 1/2 with equal tails: reject when either tail's
    # probability (under 1/2) is <= alpha / 2. Its power is the chance of rejecting at p_a.
    tail = [math.comb(n, k) / 2 ** n for k in range(n + 1)]
    reject = [k for k in range(n + 1) if sum(tail[k:]) <= alpha / 2 or sum(tail[:k + 1]) <= alpha / 2]
    return sum(math.comb(n, k) * p_a ** k * (1 - p_a) ** (n - k) for k in reject)


def test_fixed_sample_size_known_values() -> None:
    # n = ((z_.975 / 2 + z_power * sqrt(p q)) / (p - 1/2))^2, z_.975 = 1.959964, z_.8 = 0.841621:
    #   p = 0.7:  (0.979982 + 0.841621 * 0.458258) / 0.2 = 6.82836, squared 46.63 -> 47
    #   p = 0.6:  (0.979982 + 0.841621 * 0.489898) / 0.1 = 13.9229, squared 193.85 -> 194
    #   p = 0.55: (0.979982 + 0.841621 * 0.497494) / 0.05 = 27.9737, squared 782.53 -> 783
    assert fixed_sample_size(0.7) == 47 and fixed_sample_size(0.3) == 47
    assert fixed_sample_size(0.6) == 194
    assert fixed_sample_size(0.55) == 783
    # power 0.9, z = 1.281552: (0.979982 + 0.587280) / 0.2 = 7.83631, squared 61.41 -> 62
    assert fixed_sample_size(0.7, power=0.9) == 62
    # alpha 0.01, z_.995 = 2.575829: (1.287915 + 0.385690) / 0.2 = 8.36803, squared 70.02 -> 71
    assert fixed_sample_size(0.7, alpha=0.01) == 71
    # Close to the exact binomial test's power at that n (which zigzags with n by a few
    # points: at p = 0.65 it is 0.736 at 85 votes and 0.780 at 86).
    for p_a in (0.6, 0.65, 0.7):
        n = fixed_sample_size(p_a)
        assert _exact_power(n, p_a, 0.05) == pytest.approx(0.8, abs=0.07), p_a


def test_fixed_sample_size_refuses_what_cannot_be_detected() -> None:
    for kwargs, name in (({"p_a": 0.5}, "p_a"), ({"p_a": 0.0}, "p_a"), ({"p_a": 1.0}, "p_a"),
                         ({"p_a": math.nan}, "p_a"), ({"p_a": 0.7, "alpha": 0.7}, "alpha"),
                         ({"p_a": 0.7, "power": 1.0}, "power"), ({"p_a": 0.7, "power": 0.2}, "power"),
                         ({"p_a": 0.7, "power": True}, "power")):
        with pytest.raises(ValidationError) as info:
            fixed_sample_size(**kwargs)
        assert info.value.field == name


# ------------------------------------------------------------------------- rankings with intervals


def _arena(strengths: dict[str, float], votes: int, seed: int, tie_rate: float = 0.1) -> dict:
    """Votes between random pairs of variants with these true Bradley-Terry strengths."""
    rng = random.Random(seed)
    names = sorted(strengths)
    wins: dict[str, dict[str, float]] = {n: {} for n in names}
    for _ in range(votes):
        a, b = rng.sample(names, 2)
        if rng.random() < tie_rate:
            for x, y in ((a, b), (b, a)):
                wins[x][y] = wins[x].get(y, 0) + 0.5
        else:
            winner, loser = (a, b) if rng.random() < strengths[a] / (strengths[a] + strengths[b]) else (b, a)
            wins[winner][loser] = wins[winner].get(loser, 0) + 1
    return wins


def test_bradley_terry_intervals_rank_five_variants() -> None:
    true = {"A": 0.35, "B": 0.25, "C": 0.2, "D": 0.12, "E": 0.08}
    wins = _arena(true, 300, seed=5)
    standings = bradley_terry_intervals(wins, resamples=400, seed=1)
    fit = bradley_terry(wins)
    assert standings.ranking[0] == "A" and standings.ranking[-1] in ("D", "E")
    for s in standings.standings:
        assert s.strength == pytest.approx(fit[s.variant], abs=1e-8)
        assert s.low < s.strength < s.high
        assert s.low <= true[s.variant] <= s.high or abs(true[s.variant] - s.strength) < 0.1
        # win rate against the field, ties half, with its Wilson interval
        won = sum(wins[s.variant].values())
        met = sum(wins[s.variant].get(o, 0) + wins[o].get(s.variant, 0) for o in true if o != s.variant)
        assert (s.wins, s.trials) == (won, met)
        assert (s.win_low, s.win_high) == pytest.approx(wilson_interval(won, met))
    assert sum(s.p_best for s in standings.standings) == pytest.approx(1.0)
    assert [s.rank for s in standings.standings] == [1, 2, 3, 4, 5]
    assert standings.groups == 1 and "Bradley-Terry" in str(standings)
    # four times the votes, about half the width
    wide = standings["B"].high - standings["B"].low
    more = bradley_terry_intervals(_arena(true, 1200, seed=6), resamples=400, seed=1)["B"]
    assert 0.35 < (more.high - more.low) / wide < 0.7


def test_bradley_terry_intervals_are_deterministic_per_seed() -> None:
    wins = _arena({"A": 0.5, "B": 0.3, "C": 0.2}, 90, seed=3)
    one = bradley_terry_intervals(wins, resamples=200, seed=7)
    assert one == bradley_terry_intervals(wins, resamples=200, seed=7)
    other = bradley_terry_intervals(wins, resamples=200, seed=8)
    assert [s.strength for s in other.standings] == [s.strength for s in one.standings]
    assert [s.low for s in other.standings] != [s.low for s in one.standings]
    assert one.rows()[0].keys() >= {"rank", "variant", "strength", "low", "high", "p_best", "win_rate"}


def test_two_variants_strength_is_the_win_rate() -> None:
    # 30 wins for A, 10 for B, 4 ties: strength = (30 + 2) / 44, the win rate with ties half.
    wins = {"A": {"B": 32.0}, "B": {"A": 12.0}}
    standings = bradley_terry_intervals(wins, resamples=2000, seed=0)
    a = standings["A"]
    assert a.strength == pytest.approx(32 / 44) and a.win_rate == pytest.approx(32 / 44)
    assert (a.win_low, a.win_high) == pytest.approx(wilson_interval(32, 44))
    # the bootstrap of a proportion sits close to its Wilson interval
    assert a.low == pytest.approx(a.win_low, abs=0.04) and a.high == pytest.approx(a.win_high, abs=0.04)
    assert standings["B"].strength == pytest.approx(12 / 44)


def test_bradley_terry_intervals_edge_cases() -> None:
    # an unplayed variant has no strength and comes last; an unbeaten one ends in bounded time
    standings = bradley_terry_intervals({"a": {"b": 3}, "b": {}, "c": {}}, resamples=100)
    assert standings.ranking == ["a", "b", "c"]
    assert standings["c"].strength is None and standings["c"].trials == 0 and standings["c"].p_best is None
    assert standings["a"].strength == pytest.approx(1.0, abs=1e-3) and standings["b"].strength == 0.0
    # two pairs never compared with each other: two groups
    assert bradley_terry_intervals({"a": {"b": 2}, "b": {"a": 1}, "c": {"d": 1}, "d": {"c": 2}},
                                   resamples=100).groups == 2
    assert bradley_terry_intervals({}, resamples=100).standings == ()


def test_bradley_terry_intervals_refuse_bad_input() -> None:
    for wins in ("A beat B", {"a": {"a": 1}}, {"a": {"b": -1}}, {"a": {"b": 0.25}}, {"a": {"b": math.nan}},
                 {"a": {"b": True}}, {"a": 3}, {"a": {"b": 0.5}}):
        with pytest.raises(ValidationError) as info:
            bradley_terry_intervals(wins, resamples=100)
        assert info.value.field == "wins", wins
    wins = {"a": {"b": 1.5}, "b": {"a": 0.5}}  # a tie and a win for a: fine
    for kwargs, name in (({"level": 1.0}, "level"), ({"level": 0}, "level"),
                         ({"resamples": 10}, "resamples"), ({"resamples": 500.0}, "resamples"),
                         ({"seed": True}, "seed"), ({"seed": "x"}, "seed")):
        with pytest.raises(ValidationError) as info:
            bradley_terry_intervals(wins, **kwargs)
        assert info.value.field == name
