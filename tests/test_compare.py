"""Comparison helpers against the simulator over real HTTP: real, different images of
the right sizes, concurrency measured on the simulator's clock, failures in their own
cell, votes exported, refusals before any traffic, sync/async/nested waiting, widgets."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import textwrap
import time

import pytest
from PIL import Image

from flux2_widgets import catalog
from flux2_widgets.client import AsyncFlux2Client, Flux2Client, PollPolicy
from flux2_widgets.compare import (
    MAX_CELLS,
    Comparison,
    compare_grid,
    compare_prompts,
    compare_resolutions,
    compare_tiers,
)
from flux2_widgets.errors import TaskFailedError, ValidationError

#: Quick first status check for 0.1 s tasks (the default waits 0.25 s before the first poll).
FAST_POLL = PollPolicy(first=0.05, min_interval=0.02)
KEY = "test-key-compare"




def _image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# -- the helpers ------------------------------------------------------------------------
def test_tiers_from_plain_sync_code_gives_two_real_different_images(sim, client):
    cmp = compare_tiers("a red fox in fresh snow", client=client)
    # No loop runs in a plain script: the helper submitted both tasks before returning.
    assert sim.count("POST") == 2
    assert cmp.wait(timeout=10) is cmp and cmp.done
    pro, flex = cmp.cells
    assert (pro.col_label, flex.col_label) == ("Pro · 1k", "Flex · 1k")
    assert pro.ok and flex.ok
    a, b = pro.result.image.data, flex.result.image.data
    assert a != b
    expected = catalog.pixel_size("1:1", "1k")
    assert _image_size(a) == _image_size(b) == expected
    rows = cmp.rows()
    assert [r["tier"] for r in rows] == ["pro", "flex"]
    assert [(r["width"], r["height"]) for r in rows] == [expected, expected]
    assert [r["estimated_cost"] for r in rows] == [catalog.price("pro", "1k"), catalog.price("flex", "1k")]
    assert sum(r["billed_cost"] for r in rows) == pytest.approx(sim.stats.total_charged)
    assert all(r["latency_s"] > 0 and r["task_id"] for r in rows)
    assert cmp.total_cost == pytest.approx(sim.stats.total_charged)
    assert "would have cost" in cmp.total_text  # simulated mode says so


def test_resolutions_have_catalog_pixel_sizes(sim, client):
    cmp = compare_resolutions("a lighthouse at dawn", tier="pro", aspect_ratio="16:9", client=client).wait(10)
    sizes = [_image_size(c.result.image.data) for c in cmp.cells]
    assert sizes == [catalog.pixel_size("16:9", "1k"), catalog.pixel_size("16:9", "2k")]
    assert cmp.cells[0].result.image.data != cmp.cells[1].result.image.data
    assert [c.col_label for c in cmp.cells] == ["Pro · 1k", "Pro · 2k"]


def test_prompt_ab_votes_are_kept_and_exported(sim, client, tmp_path):
    cmp = compare_prompts("a cat in a teacup", "a watercolor cat in a teacup", client=client).wait(10)
    a, b = cmp.cells
    assert a.result.image.data != b.result.image.data
    assert (a.request.prompt, b.request.prompt) == ("a cat in a teacup", "a watercolor cat in a teacup")
    cmp.vote("b", note="softer light")
    cmp.vote("tie")
    cmp.vote("B")  # labels work too
    with pytest.raises(ValidationError, match="use one of: a, b, tie"):
        cmp.vote("c")
    assert [v["choice"] for v in cmp.votes] == ["b", "tie", "b"]
    assert cmp.tally() == {"a": 0, "b": 2, "tie": 1} and cmp.verdict == "b"
    rows = {r["side"]: r for r in cmp.rows()}
    assert rows["b"]["votes_won"] == 2 and rows["a"]["votes_won"] == 0 and rows["a"]["verdict"] == "b"
    path = cmp.to_csv(tmp_path / "ab.csv")
    table = list(csv.DictReader(path.open()))
    assert [r["side"] for r in table] == ["a", "b"]
    assert table[1]["votes_won"] == "2" and table[0]["verdict"] == "b"
    assert "softer light" in table[0]["vote_notes"]
    frame = cmp.to_pandas()
    assert list(frame["votes_won"]) == [0, 2]


def test_grid_runs_concurrently_by_the_simulator_clock(make_sim):
    sim = make_sim(latency=1.0)
    with Flux2Client(api_key=KEY, base_url=sim.url) as client:
        cmp = compare_grid(["a red kite over hills", "a paper boat on a pond"], tiers=("pro", "flex"),
                           client=client)
        cmp.wait(timeout=10)
    tasks = list(sim.tasks.values())
    assert len(tasks) == 4
    created = sorted(t.created for t in tasks)
    assert created[-1] - created[0] < 0.3, "all four tasks must be submitted together"
    span = max(t.completed for t in tasks) - created[0]
    assert span < 1.6, f"a 2x2 grid of 1 s tasks took {span:.2f} s on the simulator clock"
    assert cmp.row_labels == ["a red kite over hills", "a paper boat on a pond"]
    assert cmp.col_labels == ["Pro · 1k", "Flex · 1k"]
    assert cmp.cell("a paper boat on a pond", "Flex · 1k").request.tier == "flex"
    assert len({c.result.image.data for c in cmp.cells}) == 4


def test_a_failure_stays_in_its_own_cell_and_can_be_retried(sim, client):
    sim.inject("fail_task")
    cmp = compare_grid(["a snowy owl", "a desert fox"], tiers=("pro",), client=client).wait(10)
    failed = [c for c in cmp.cells if c.status == "failed"]
    assert len(failed) == 1 and len([c for c in cmp.cells if c.ok]) == 1
    assert isinstance(failed[0].error, TaskFailedError)
    row = cmp.rows()[failed[0].index]
    assert row["status"] == "failed" and "failed" in row["error"] and row["billed_cost"] == 0
    assert cmp.billed_cost == pytest.approx(sim.stats.total_charged)
    view = cmp.view()
    card = view.card_at(failed[0].row, failed[0].col)  # a grid's place is a card
    assert card.takes[0]["status"] == "failed" and card.takes[0]["step"] == "new"
    assert "failed" in card.takes[0]["error"]
    card._on_front_end(card, {"type": "retry"}, [])  # its Retry button
    deadline = time.monotonic() + 10
    while not all(c.ok for c in cmp.cells):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cmp.wait(10)
    assert card.takes[0]["status"] == "completed" and card.image[:2] == b"\xff\xd8"


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: compare_tiers("a red fox", tiers=("pro", "ultra"), client=c), "unknown tier 'ultra'"),
    (lambda c: compare_tiers("a red fox", tiers=(), client=c), "tiers is empty"),
    (lambda c: compare_tiers("a red fox", tiers=("pro", "pro"), client=c), "twice"),
    (lambda c: compare_tiers("a red fox", tiers=("pro", "max"), resolution="2k", client=c),
     "not available for Max"),
    (lambda c: compare_resolutions("a red fox", resolutions=("1k", "4k"), client=c), "unknown resolution"),
    (lambda c: compare_grid([], client=c), "prompts is empty"),
    (lambda c: compare_grid(["ok prompt", 42], client=c), "prompt #2 must be text"),
    (lambda c: compare_grid(["x"], client=c), "3-5000 characters"),
    (lambda c: compare_prompts("same prompt", " same prompt ", client=c), "are the same"),
    (lambda c: compare_tiers("a red fox", aspect_ratio="5:4", client=c), "aspect_ratio"),
    (lambda c: compare_grid([f"prompt number {i}" for i in range(MAX_CELLS)], client=c),
     r"makes 96 images, about \$9\.12, about 3 min .* pass budget="),
    (lambda c: compare_grid([f"prompt number {i}" for i in range(501)], takes=2, budget=1000, client=c),
     "at most 2,000"),
    (lambda c: compare_grid(["a red fox"], takes=0, client=c), "takes"),
    (lambda c: compare_tiers("a red fox", budget=-1, client=c), "budget must be"),
])
def test_bad_arguments_are_refused_before_any_request(sim, client, call, message):
    with pytest.raises(ValidationError, match=message):
        call(client)
    assert sim.count() == 0


# -- waiting: sync, async, nested ----------------------------------------------------------
def test_comparison_is_awaitable(sim):
    async def main() -> Comparison:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, poll=FAST_POLL) as client:
            cmp = await compare_grid(["a tiny robot", "a tiny dragon"], tiers=("pro",), client=client)
            assert cmp.done
            again = await cmp  # awaiting a finished comparison returns at once
            assert again is cmp
            return cmp

    cmp = asyncio.run(main())
    assert all(c.ok for c in cmp.cells)


_NESTED = textwrap.dedent("""
    import asyncio, json, sys
    import flux2_widgets.compare as compare
    light = "ipywidgets" not in sys.modules and "nest_asyncio2" not in sys.modules
    from flux2_widgets.client import AsyncFlux2Client
    from flux2_widgets.simulator import Simulator

    async def cell(sim):
        # what a notebook cell does: sync code while the kernel's loop is running
        loop = asyncio.get_running_loop()
        client = AsyncFlux2Client(api_key="k", base_url=sim.url)
        cmp = compare.compare_tiers("a glass apple", client=client)
        returned_at_once = not cmp.done
        before = hasattr(loop, "_nest_patched")
        cmp.wait(timeout=10)
        after = hasattr(loop, "_nest_patched")
        await client.aclose()
        return {"light": light, "at_once": returned_at_once, "before": before, "after": after,
                "ok": [c.ok for c in cmp.cells], "nest": "nest_asyncio2" in sys.modules}

    with Simulator(latency=0.1) as sim:
        print(json.dumps(asyncio.run(cell(sim))))
""")


def test_sync_wait_inside_a_running_loop_nests_with_nest_asyncio2():
    # A subprocess: nest_asyncio2 patches asyncio process-wide, other tests must not inherit that.
    out = subprocess.run([sys.executable, "-c", _NESTED], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["light"], "importing compare must not import ipywidgets or nest_asyncio2"
    assert result["at_once"]
    assert result["before"] is False and result["after"] is True and result["nest"]
    assert result["ok"] == [True, True]


def test_wait_timeout_is_a_clear_error_and_the_cells_keep_running(make_sim):
    sim = make_sim(latency=0.6)
    with Flux2Client(api_key=KEY, base_url=sim.url) as client:
        cmp = compare_tiers("a slow snail", client=client)
        with pytest.raises(Exception, match=r"still running after 0\.05 s"):
            cmp.wait(timeout=0.05)
        assert cmp.wait(timeout=10).done
    assert all(c.ok for c in cmp.cells)


# -- display ------------------------------------------------------------------------------
def test_static_html_and_widget_bundle(sim, client):
    cmp = compare_tiers("a neon city at night", client=client).wait(10)
    page = cmp._repr_html_()
    assert page.count("data:image/jpeg;base64,") == 2
    assert "Pro · 1k" in page and "Flex · 1k" in page and "SIMULATED" in page
    bundle = cmp._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Comparison tiers" in bundle["text/plain"]
    assert KEY not in page and KEY not in repr(cmp) and KEY not in str(cmp.rows())


def test_to_pandas_without_pandas_says_how_to_install(sim, client, monkeypatch):
    cmp = compare_tiers("a lone tree on a hill", tiers=("pro",), client=client).wait(10)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        cmp.to_pandas()
    assert cmp.rows()[0]["status"] == "completed"


def test_compare_widget_controls_run_and_fill(sim):
    from flux2_widgets.widgets.compare_widget import CompareWidget

    async def main() -> None:
        async with AsyncFlux2Client(api_key=KEY, base_url=sim.url, poll=FAST_POLL) as client:
            w = CompareWidget(client=client)
            assert w.run_button.disabled and w.run() is None  # no prompt yet
            w.prompts.value = "a koi pond\na koi pond in autumn"
            w.tiers.value = ("pro",)
            w.resolutions.value = ("1k",)
            assert w.plan.helper == "compare_prompts" and "$0.10" in w.estimate.value
            w.budget.value = "0.05"
            assert w.run_button.disabled and "over the budget" in w.budget_field.error_text
            w.budget.value = ""
            w.run_button.click()
            cmp = w.comparison
            assert cmp is not None and cmp.kind == "prompts"
            view = w.output.children[0]
            assert [t.status for t in view.tiles] == ["submitting", "submitting"]  # returned at once
            await cmp
            assert [t.status for t in view.tiles] == ["completed", "completed"]
            assert all(len(t.thumb.value) > 0 for t in view.tiles)
            view.vote_note.value = "warmer colours"
            view.vote_buttons["b"].click()
            assert cmp.votes[0]["choice"] == "b" and cmp.votes[0]["note"] == "warmer colours"
            assert "B: 1" in view.tally.value

            w.prompts.value = "a koi pond"
            w.tiers.value = ("pro", "flex")
            assert w.plan.helper == "compare_tiers"
            w.tiers.buttons["flex"].value = False
            w.resolutions.buttons["2k"].value = True
            assert w.plan.helper == "compare_resolutions"
            w.run_button.click()
            await w.comparison
            await _until(lambda: all(t.status == "completed" for t in w.output.children[0].tiles))
            assert len(w.comparisons) == 2 and len(w.output.children) == 2

    asyncio.run(main())
    assert sim.count("POST") == 4


def test_retry_after_a_poll_outage_waits_for_the_same_task(sim):
    from flux2_widgets import Flux2Client, PollPolicy

    sim.inject("503", times=4, on="get")  # both attempts of both cells' first polls
    with Flux2Client(api_key=KEY, base_url=sim.url, max_retries=1,
                     poll=PollPolicy(first=0.05, min_interval=0.02)) as client:
        cmp = compare_tiers("a lighthouse in fog", client=client).wait(10)
        failed = [c for c in cmp.cells if not c.ok]
        assert failed and all(c.task is not None for c in failed)
        ids = [c.task.id for c in failed]
        for cell in failed:
            cmp.retry(cell)
        cmp.wait(10)
    assert all(c.ok for c in failed) and [c.result.id for c in failed] == ids
    assert sim.stats.tasks_created == 2 and len(sim.stats.charges) == 2


def test_save_in_a_comparison_writes_where_the_client_keeps_its_results(sim, tmp_path):
    """One folder for a client's results: a comparison tile's Save goes to its store (image
    and sidecar), not to a second copy under the default folder."""
    from conftest import SECRET_KEY

    from flux2_widgets import Flux2Client, PollPolicy, ResultStore

    store = ResultStore(tmp_path / "mine")
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store,
                     poll=PollPolicy(first=0.05, min_interval=0.02)) as client:
        cmp = compare_tiers("a lighthouse at dawn", client=client).wait(10)
        tile = cmp.view().tiles[0]
        tile.buttons["save"].click()  # the save runs on the comparison's loop: wait for its word
        deadline = time.monotonic() + 5
        while "Saved" not in tile.message.value:
            assert time.monotonic() < deadline, tile.message.value
            time.sleep(0.01)
    [saved] = tile.saved_paths()
    assert saved.is_relative_to(store.root) and saved.read_bytes() == cmp.cells[0].result.image.data
    assert (saved.parent / f"{cmp.cells[0].result.id}.json").is_file()  # the sidecar too
    assert "Saved " + str(saved) in tile.message.value
    assert f"to {store.root}/" in tile.buttons["save"].tooltip
