"""Exploration grids on any axis: each axis kind, template and search-and-replace expansion
in their documented order, unoffered combinations refused or skipped with the reason,
errors that name the axis, and the counts, costs and times a plan reports. Pure: nothing
here sends a request."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from flux2_widgets import catalog
from flux2_widgets.catalog import ImageRequest
from flux2_widgets.compare.axes import (
    MAX_GRID_IMAGES,
    Axis,
    GridCell,
    SkippedCell,
    expand_grid,
    grid,
    label_for,
    take_label,
)
from flux2_widgets.errors import BudgetExceededError, ValidationError
from flux2_widgets.money import check_budget

FOX = "https://img.example/a/fox.png"
OWL = "https://img.example/b/owl.jpg"
CAT = "https://img.example/c/cat.webp"


@contextlib.contextmanager
def _refused(field: str, match: str | None = None) -> Iterator[pytest.ExceptionInfo[ValidationError]]:
    """A ValidationError naming ``field`` (and matching ``match``) must come out of the block."""
    with pytest.raises(ValidationError, match=match) as info:
        yield info
    assert info.value.field == field, (info.value.field, str(info.value))


# ------------------------------------------------------------------------- the brief's example


def test_template_grid_with_takes_in_documented_order() -> None:
    plan = grid("a {animal} in snow", animal=["fox", "owl"], tier=["pro", "flex"], resolution=["1k", "2k"],
                takes=3, rows="animal", cols=("tier", "resolution"))
    assert plan.shape == (1, 2, 4)
    assert plan.row_labels == ("fox", "owl")
    # several axes on one dimension nest like itertools.product: the first varies slowest
    assert plan.col_labels == ("Pro · 1k", "Pro · 2k", "Flex · 1k", "Flex · 2k")
    assert (plan.cell_count, plan.image_count) == (8, 24)
    first, last = plan.cells[0], plan.cells[-1]
    assert first.values == {"animal": "fox", "tier": "pro", "resolution": "1k"}
    assert first.request == ImageRequest("a fox in snow", tier="pro", resolution="1k")
    assert (last.row, last.col, last.request.prompt, last.request.tier, last.request.resolution) == (
        1, 3, "a owl in snow", "flex", "2k")
    assert [c.index for c in plan.cells] == list(range(8))
    assert [(c.row, c.col) for c in plan.cells] == [(r, c) for r in range(2) for c in range(4)]
    assert first.label == "Pro · 1k | fox"
    # images: each cell's takes in a row, in plan order
    assert [(i.cell.index, i.take) for i in plan.images[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert [i.label for i in plan.images[:3]] == ["take 1/3", "take 2/3", "take 3/3"]
    assert len(plan.requests) == 24 and plan.requests[3] == plan.cells[1].request
    # 2 animals x 3 takes x (0.05 + 0.07 + 0.14 + 0.24)
    assert plan.estimate() == (pytest.approx(3.0), 0)
    assert plan.estimate_text == "8 cells x 3 takes = 24 images, about $3.00"
    assert plan.title == "Grid: animal × tier · resolution, 3 takes"
    rows = plan.rows()
    assert len(rows) == 24
    assert rows[4] == {"page": 0, "row": 0, "col": 1, "take": 2, "animal": "fox", "tier": "pro",
                       "resolution": "2k", "prompt": "a fox in snow", "aspect_ratio": "1:1",
                       "action": "text_to_image", "source_image_urls": "", "estimated_cost": 0.07}


def test_two_slots_make_the_cartesian_product() -> None:
    plan = grid("a {animal} in {place}", animal=["fox", "owl"], place=["snow", "rain"])
    # two prompt axes and nothing else: the first goes down the side, the second across
    assert plan.row_labels == ("fox", "owl") and plan.col_labels == ("snow", "rain")
    assert [c.request.prompt for c in plan.cells] == ["a fox in snow", "a fox in rain", "a owl in snow",
                                                      "a owl in rain"]
    assert plan.cells[2].values == {"animal": "owl", "place": "snow"}
    # both on rows: one header per combination
    stacked = grid("a {animal} in {place}", animal=["fox", "owl"], place=["snow", "rain"],
                   rows=("animal", "place"))
    assert stacked.row_labels == ("fox · snow", "fox · rain", "owl · snow", "owl · rain")
    assert stacked.col_labels == ("",) and stacked.shape == (1, 4, 1)
    # numbers fill a slot too; {{ }} are literal braces
    counted = grid("{n} cats {{sic}}", n=[1, 2])
    assert [c.request.prompt for c in counted.cells] == ["1 cats {sic}", "2 cats {sic}"]
    assert counted.cells[1].values == {"n": 2}
    # a slot held at one value is fixed: filled in, not a column
    held = grid("a {animal} in {place}", animal=["fox", "owl"], place="fog")
    assert [c.request.prompt for c in held.cells] == ["a fox in fog", "a owl in fog"]
    assert held.cells[0].values == {"animal": "fox"} and [a.name for a in held.fixed_axes] == ["place"]


def test_search_and_replace_puts_the_original_first() -> None:
    plan = grid("a red fox in snow", replace={"red": ["red", "blue", "golden"]})
    assert [c.request.prompt for c in plan.cells] == ["a red fox in snow", "a blue fox in snow",
                                                      "a golden fox in snow"]
    assert plan.row_labels == ("red", "blue", "golden") and plan.cells[1].values == {"red": "blue"}
    # leaving the original out gives the same plan
    same = grid("a red fox in snow", replace={"red": ["blue", "golden"]})
    assert [c.request for c in same.cells] == [c.request for c in plan.cells]
    # every occurrence is replaced; an empty value removes the phrase
    plan = expand_grid("red fox, red sky", rows=Axis.replace("red", ["", "grey"], name="colour"))
    assert [c.request.prompt for c in plan.cells] == ["red fox, red sky", " fox,  sky", "grey fox, grey sky"]
    assert plan.row_labels == ("red", "(none)", "grey") and plan.cells[2].values == {"colour": "grey"}
    # two phrases: their product, the first phrase varying slowest
    two = grid("a red fox in snow", replace={"red": ["blue"], "snow": ["rain"]}, rows=("red", "snow"))
    assert [c.request.prompt for c in two.cells] == ["a red fox in snow", "a red fox in rain",
                                                     "a blue fox in snow", "a blue fox in rain"]
    with _refused("red", "comes first"):
        grid("a red fox", replace={"red": ["blue", "red"]})
    with _refused("blue", "not in the prompt"):
        grid("a red fox", replace={"blue": ["green"]})
    with _refused("red fox", "overlaps"):
        grid("a red fox", replace={"red": ["blue"], "red fox": ["owl"]})
    with _refused("replace", "no phrase"):
        grid("a red fox", replace={" ": ["blue"]})
    with _refused("red", "make the phrase a slot"):
        grid("a red {animal}", animal=["fox"], replace={"red": ["blue"]})


def test_prompt_list_axis_is_literal() -> None:
    plan = grid(["a fox", "an owl {at night}"], tier=["pro", "flex"])
    assert plan.row_labels == ("a fox", "an owl {at night}") and plan.col_labels == ("Pro", "Flex")
    assert plan.cells[3].request.prompt == "an owl {at night}" and plan.cells[3].values == {
        "prompt": "an owl {at night}", "tier": "flex"}
    long = "a fox " + "in deep powder snow " * 10
    header = grid([long, "an owl"]).row_labels[0]
    assert header.endswith("…") and len(header) <= 40 and long.startswith(header[:-1])
    with _refused("prompt", "twice"):
        grid(["a fox", " a fox "])
    with _refused("prompt", "3-5000 characters"):  # ImageRequest's check, named for the axis and cell
        grid(["a fox", "ox"])
    with _refused("animal", "slots and replaced phrases"):
        expand_grid({}, rows=Axis.prompt(["a fox"]), cols=Axis.slot("animal", ["owl"]))
    with _refused("prompt", "both an axis and fixed"):
        expand_grid({"prompt": "a fox"}, rows=Axis.prompt(["an owl"]))


def test_tier_resolution_and_ratio_axes() -> None:
    plan = grid("a fox in snow", tier=["PRO", "flex"], aspect_ratio=["16:9", "9:16"], resolution="2k",
                pages="aspect_ratio")
    assert plan.shape == (2, 1, 2) and plan.page_labels == ("16:9", "9:16")
    cell = plan.at(0, 1, page=1)
    assert isinstance(cell, GridCell) and cell.values == {"aspect_ratio": "9:16", "tier": "flex"}
    assert (cell.request.tier, cell.request.resolution, cell.request.aspect_ratio) == ("flex", "2k", "9:16")
    assert cell.label == "Flex | 9:16" and plan.title == "Grid: tier × aspect ratio"
    assert plan.at(0, 0, page=0).values["tier"] == "pro"
    with pytest.raises(KeyError):
        plan.at(1, 0)
    with _refused("tier", "not a tier; use one of pro, flex, max") as info:
        grid("a fox", tier=["pro", "ultra"])
    assert info.value.allowed == catalog.TIERS
    with _refused("resolution", "not a resolution"):
        grid("a fox", resolution=["1k", "4k"])
    with _refused("aspect_ratio", "not a aspect ratio"):
        grid("a fox", aspect_ratio=["1:1", "5:4"])
    with _refused("aspect_ratio", "only works for remix"):  # 'auto' keeps a source's ratio
        grid("a fox", aspect_ratio=["1:1", "auto"])
    with _refused("tier", "twice"):
        grid("a fox", tier=["pro", "Pro"])


def test_sources_axis_implies_remix() -> None:
    plan = grid("the same scene at dusk", sources=[FOX, [OWL, CAT]], aspect_ratio=["auto", "1:1"])
    assert plan.row_labels == ("fox.png", "owl.jpg +1") and plan.col_labels == ("auto", "1:1")
    first = plan.cells[0]
    assert first.request.action == "remix_image" and first.request.source_image_urls == (FOX,)
    assert plan.cells[2].request.source_image_urls == (OWL, CAT) and first.values["sources"] == (FOX,)
    assert plan.rows()[2]["sources"] == f"{OWL} {CAT}"
    # the same file name in two folders: numbered, never two identical headers
    assert Axis.sources([FOX, "https://img.example/z/fox.png"]).labels == ("1. fox.png", "2. fox.png")
    with _refused("sources", "at most 8"):
        Axis.sources([[FOX] * 9])
    with _refused("sources", "not a public http"):
        grid("a fox at dusk", sources=[FOX, "file:///etc/passwd"])
    with _refused("sources", "only apply to remix"):
        expand_grid({"prompt": "a fox at dusk", "action": "text_to_image"}, rows=Axis.sources([FOX]))
    with _refused("sources", "both an axis and fixed"):
        expand_grid({"prompt": "a fox", "source_image_urls": [FOX]}, rows=Axis.sources([OWL]))


# ------------------------------------------------------------------------- what a tier does not offer


def test_unoffered_combinations_are_refused_with_the_reason() -> None:
    with _refused("resolution", r"Max: 1k only") as info:
        grid("a fox in snow", tier=["pro", "max"], resolution=["1k", "2k"])
    assert "1 of 4 cells asks" in str(info.value) and "skip_unoffered=True" in str(info.value)
    with _refused("aspect_ratio", "Max: a concrete aspect ratio only"):
        grid("a fox at dusk", tier=["pro", "max"], aspect_ratio=["auto", "1:1"], sources=[FOX])
    with _refused("sources", "Max: one source image only"):
        grid("a fox at dusk", tier="max", sources=[FOX, [FOX, OWL]])
    # the tier is the axis to blame when the other setting is fixed
    with _refused("tier", "Max: 1k only"):
        grid("a fox in snow", tier=["pro", "max"], resolution="2k")


def test_unoffered_combinations_are_skipped_when_asked() -> None:
    plan = grid("a fox in snow", tier=["pro", "flex", "max"], resolution=["1k", "2k"], skip_unoffered=True)
    assert plan.shape == (1, 3, 2) and plan.cell_count == 5 and plan.image_count == 5
    gap = plan.at(2, 1)
    assert isinstance(gap, SkippedCell)
    assert (gap.reason, gap.field) == ("Max: 1k only", "resolution")
    assert (gap.row_label, gap.col_label) == ("Max", "2k")
    assert gap.values == {"tier": "max", "resolution": "2k"}
    assert [c.index for c in plan.cells] == list(range(5))
    assert plan.estimate() == (pytest.approx(0.05 + 0.07 + 0.14 + 0.24), 1)  # Max: no published price
    assert plan.estimate_text == "5 cells, about $0.50 + n/a (1 not offered, skipped)"
    remix = grid("a fox at dusk", tier=["flex", "max"], sources=[FOX, [FOX, OWL]],
                 aspect_ratio=["auto", "1:1"], rows="tier", cols=("sources", "aspect_ratio"),
                 skip_unoffered=True)
    reasons = {(s.col_label, s.reason) for s in remix.skipped}
    assert reasons == {("fox.png · auto", "Max: a concrete aspect ratio only, not auto"),
                       ("fox.png +1 · auto", "Max: a concrete aspect ratio only, not auto"),
                       ("fox.png +1 · 1:1", "Max: one source image only")}
    assert remix.cell_count == 5
    # nothing left to make is an error, skipping or not
    with _refused("tier", "every cell"):
        grid("a fox", tier=["max"], resolution="2k", skip_unoffered=True)


# ------------------------------------------------------------------------- errors that name the axis


def test_slot_mistakes_name_the_slot() -> None:
    with _refused("place", r"no \{place\} slot; its slots are animal"):
        grid("a {animal} in snow", animal=["fox"], place=["rain"])
    with _refused("resolutions", r"did you mean resolution=\?"):
        grid("a {animal} in snow", animal=["fox"], resolutions=["1k", "2k"])
    with _refused("place", r"slot \{place\} has no values"):
        grid("a {animal} in {place}", animal=["fox"])
    with _refused("animal", "is empty"):
        grid("a {animal} in snow", animal=[])
    with _refused("animal", "twice"):
        grid("a {animal} in snow", animal=["fox", "owl", "fox"])
    with _refused("animal", "values are text or numbers"):
        grid("a {animal} in snow", animal=["fox", None])
    with _refused("prompt", "unmatched brace"):
        grid("a {animal in snow", animal=["fox"])
    with _refused("prompt", "not a slot"):
        grid("a {0} in snow")
    with _refused("prompt", "not a slot"):
        grid("a {animal!r} in snow", animal=["fox"])
    with _refused("tier", "column of the grid already"):
        expand_grid("a {tier} fox", rows=Axis("tier", "slot", ("fast",)))
    with _refused("slot", "not a slot name"):
        Axis.slot("big animal", ["fox"])


def test_placement_and_base_mistakes() -> None:
    with _refused("rows", "'colour' is not an axis of this grid"):
        grid("a {animal}", animal=["fox", "owl"], rows="colour")
    with _refused("cols", "placed twice"):
        grid("a {animal}", animal=["fox", "owl"], tier=["pro", "flex"], rows="animal",
             cols=("tier", "animal"))
    with _refused("tier", "on no dimension"):
        grid("a {animal} in {place}", animal=["fox", "owl"], place=["snow", "rain"], tier=["pro", "flex"],
             rows="animal", cols="place")
    with _refused("tier", "placed twice"):
        expand_grid("a fox", rows=Axis.tier(["pro"]), cols=Axis.tier(["flex"]))
    with _refused("tier", "both an axis and fixed"):
        expand_grid({"prompt": "a fox", "tier": "pro"}, rows=Axis.tier(["flex", "max"]))
    with _refused("seed", "not a request field"):
        expand_grid({"prompt": "a fox", "seed": 3}, rows=Axis.tier(["pro"]))
    with _refused("rows", "an Axis or a list of Axis"):
        expand_grid("a fox", rows="tier")
    with _refused("animal", "cannot be fixed"):
        expand_grid("a {animal}", fixed=[Axis.slot("animal", ["fox", "owl"])])
    with _refused("prompt", "is required"):
        expand_grid({}, rows=Axis.tier(["pro"]))
    for bad in (0, -1, 1.5, True, "3"):
        with _refused("takes"):
            grid("a fox", tier=["pro", "flex"], takes=bad)
    with _refused("skip_unoffered"):
        grid("a fox", skip_unoffered="yes")


def test_a_hard_size_limit_with_the_number() -> None:
    many = [f"a fox number {i}" for i in range(500)]
    assert grid(many, takes=4).image_count == MAX_GRID_IMAGES == 2000
    with _refused("images", "2,004 images") as info:
        grid([*many, "one more fox"], takes=4)
    assert info.value.value == 2004
    with _refused("images", "1,000,000 images"):  # counted before a single request is built
        grid("a {a} {b}", a=[str(i) for i in range(1000)], b=[str(i) for i in range(1000)])


# ------------------------------------------------------------------------- counts, estimates, labels


def test_estimates_count_unknown_prices_and_take_live_ones() -> None:
    plan = grid("a fox in snow", tier=["pro", "max"], takes=2)
    assert plan.estimate() == (pytest.approx(0.10), 2), "Max has no published price: unknown, not $0"
    assert plan.estimate_text == "2 cells x 2 takes = 4 images, about $0.10 + n/a"
    live = plan.estimate(lambda req: 0.09 if req.tier == "max" else 0.05)
    assert live == (pytest.approx(0.28), 0)
    # budgets stay the caller's: the plan's requests go straight to money.check_budget
    with pytest.raises(BudgetExceededError, match="not published"):
        check_budget(plan.requests, 1.0)
    assert check_budget(grid("a fox", tier=["pro", "flex"], takes=3).requests, 1.0) == pytest.approx(0.57)


def test_time_estimate_from_catalog_latencies(monkeypatch) -> None:
    plan = grid("a fox in snow", tier=["pro", "flex"], resolution=["1k", "2k"], takes=2)
    lat = catalog.TYPICAL_LATENCY
    longest = max(lat[k] for k in (("pro", "1k"), ("pro", "2k"), ("flex", "1k"), ("flex", "2k")))
    assert plan.estimated_seconds() == longest, "8 images fit in 64 slots: as long as the slowest"
    total = 2 * (lat["pro", "1k"] + lat["pro", "2k"] + lat["flex", "1k"] + lat["flex", "2k"])
    assert plan.estimated_seconds(concurrency=1) == pytest.approx(total)
    # two slots: 34 34 22 22 13 13 8 8, longest first into the freest slot -> 77 each
    assert plan.estimated_seconds(concurrency=2) == pytest.approx(total / 2)
    with _refused("concurrency"):
        plan.estimated_seconds(concurrency=0)
    monkeypatch.delitem(catalog.TYPICAL_LATENCY, ("flex", "2k"))
    assert plan.estimated_seconds() is None, "an unknown latency leaves the time to the caller"


def test_labels_come_from_one_formatter() -> None:
    tiers, res = Axis.tier(["pro", "flex", "max"]), Axis.resolution(["1k", "2k"])
    assert label_for((tiers, res), (1, 1)) == "Flex · 2k"
    assert label_for((), ()) == ""
    assert [tiers.label(t) for t in tiers.values] == [catalog.tier_label(t) for t in catalog.TIERS]
    assert take_label(1, 3) == "take 2/3"
    prompts = Axis.prompt(["a fox in a very long and winding snowy forest at dawn, one",
                           "a fox in a very long and winding snowy forest at dawn, two"])
    assert prompts.labels[0].startswith("1. a fox") and prompts.labels[1].startswith("2. a fox")
    assert len(Axis.slot("n", [1, 2.5])) == 2 and Axis.slot("n", [1, 2.5]).labels == ("1", "2.5")


def test_a_base_setting_one_tier_refuses_is_unoffered_there() -> None:
    # Max takes no enable_safety_checker (RunAPI forbids it, even False): Max's cells skip
    plan = expand_grid({"prompt": "a fox in snow", "enable_safety_checker": False},
                       rows=Axis.tier(["pro", "max"]), skip_unoffered=True)
    assert [c.request.tier for c in plan.cells] == ["pro"]
    assert plan.cells[0].request.enable_safety_checker is False
    assert [(s.reason, s.field) for s in plan.skipped] == [("Max: no safety checker setting", "tier")]
    with _refused("tier", "1 of 2 cells asks"):
        expand_grid({"prompt": "a fox in snow", "enable_safety_checker": False},
                    rows=Axis.tier(["pro", "max"]))
