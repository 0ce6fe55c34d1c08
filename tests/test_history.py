"""History over a real results folder: results saved by a client, read back by a fresh
History (as after a kernel restart), filtered, compared, inspected and sent to a Studio."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import date, timedelta

import pytest
from conftest import SECRET_KEY, run_studio

from flux2_widgets import History, ResultStore
from flux2_widgets.client import Flux2Client, PollPolicy
from flux2_widgets.compare.history import HistoryEntry
from flux2_widgets.errors import ValidationError
from flux2_widgets.widgets.inspect_view import Inspector

FAST = PollPolicy(first=0.05, min_interval=0.02)
PROMPTS = ("a red fox in fresh snow", "a lighthouse at dawn", "a red kite over hills")


@pytest.fixture
def saved(sim, tmp_path):
    """Three results saved to a folder by a client that is then closed."""
    store = ResultStore(tmp_path / "results")
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, store=store) as client:
        gens = [client.generate(PROMPTS[0], tier="pro"),
                client.generate(PROMPTS[1], tier="flex"),
                client.generate(PROMPTS[2], tier="pro", resolution="2k")]
    return store, gens


def test_a_fresh_history_reads_every_saved_result(saved) -> None:
    store, gens = saved
    history = History(store.root)  # nothing shared with the client: as after a restart
    assert len(history) == 3
    assert [e.task_id for e in history] == [g.id for g in reversed(gens)], "newest first"
    entry = history[gens[0].id]
    assert isinstance(entry, HistoryEntry)
    assert (entry.prompt, entry.tier, entry.resolution, entry.size_text) == (PROMPTS[0], "pro", "1k",
                                                                              "1024x1024")
    assert entry.cost == gens[0].cost and entry.simulated
    again = entry.generation()
    assert again.image.data == gens[0].image.data
    assert again.request.payload() == gens[0].request.payload()
    assert again.cost == gens[0].cost and again.id == gens[0].id
    assert SECRET_KEY not in json.dumps(history.rows())


def test_filters_by_prompt_tier_resolution_and_date(saved) -> None:
    store, gens = saved
    history = History(store.root)
    assert [e.prompt for e in history.filter("RED")] == [PROMPTS[2], PROMPTS[0]]
    assert [e.tier for e in history.filter(tier="flex")] == ["flex"]
    assert [e.resolution for e in history.filter(resolution="2k")] == ["2k"]
    assert len(history.filter("red", tier="pro", resolution="1k")) == 1
    today = date.fromtimestamp(gens[0].completed_at)
    assert len(history.filter(since=today)) == 3 and len(history.filter(until=today)) == 3
    assert history.filter(until=today - timedelta(days=1)) == []
    assert history.filter(since=(today + timedelta(days=1)).isoformat()) == []
    assert len(history.filter(days=1)) == 3
    # an old result: its sidecar says it finished 40 days ago
    sidecar = next(store.root.glob("*/*.json"))
    meta = json.loads(sidecar.read_text())
    meta["completed_at"] = time.time() - 40 * 86400
    sidecar.write_text(json.dumps(meta))
    assert len(History(store.root).filter(days=30)) == 3, "the index holds what was saved"
    assert len(History(store.root).load(rebuild=True).filter(days=30)) == 2, "edited by hand: rebuilt"
    for bad in ({"tier": "ultra"}, {"resolution": "4k"}, {"since": "yesterday"}, {"days": 0}):
        with pytest.raises(ValidationError) as info:
            history.filter(**bad)
        assert info.value.field == next(iter(bad))


def test_broken_and_foreign_files_are_skipped(saved) -> None:
    store, _ = saved
    folder = next(store.root.glob("*/"))
    (folder / "cut-short.json").write_text('{"task_id": "x", "prom')
    (folder / "other.json").write_text('["not", "a", "sidecar"]')
    assert len(History(store.root)) == 3
    assert len(History(store.root / "nowhere")) == 0


def test_compare_and_inspect_from_history(saved, tmp_path) -> None:
    store, gens = saved
    history = History(store.root)
    cmp = history.compare(gens[0].id, gens[1].id)
    assert cmp.done and cmp.wait() is cmp, "finished results: nothing to run"
    assert [c.col_label for c in cmp.cells] == ["Pro · 1k", "Flex · 1k"]
    assert cmp.total_cost == pytest.approx(gens[0].cost + gens[1].cost)
    cmp.vote("Flex · 1k")
    assert cmp.tally()["b"] == 1
    img = cmp.to_image(side=160)
    assert img.width > 2 * 160
    assert [r["task_id"] for r in cmp.rows()] == [gens[0].id, gens[1].id]
    blind = history.compare(0, 1, blind=True)
    assert not blind.revealed
    insp = history.inspect(0, 2).wait_ready()
    assert isinstance(insp, Inspector)
    assert [im["width"] for im in insp.images] == [2048, 1024]
    with pytest.raises(ValidationError):
        history.compare(0)


def test_history_view_selects_compares_and_sends_to_a_studio(saved, sim) -> None:
    store, gens = saved
    history = History(store.root)

    async def body(studio) -> None:
        view = history.view(studio=studio)
        await view.wait_idle()
        assert len(view.cards) == 3 and all(len(c.image.value) > 1000 for c in view.cards)
        assert "3 of 3 results" in view.count.value and view.page_label.value == "page 1 of 1"
        view.tier_filter.value = "pro"
        await view.wait_idle()
        assert {c.entry.tier for c in view.cards} == {"pro"} and len(view.cards) == 2
        view.tier_filter.value = ""
        await view.wait_idle()
        view.select(gens[0].id, gens[1].id)
        assert not view.compare_button.disabled and not view.blind_button.disabled
        assert view.prompt_button.disabled, "Studio buttons take one result"
        view.compare_button.click()
        shown = view.target.children[0]
        assert shown.comparison.kind == "results"
        view.inspect_button.click()
        assert isinstance(view.target.children[0], Inspector)
        # one selected -> the Studio
        view.select()
        for card in view.cards:
            card.select.value = card.entry.task_id == gens[1].id
        assert not view.prompt_button.disabled
        view.prompt_button.click()
        await view.wait_idle()
        assert studio.prompt == PROMPTS[1]
        view.remix_button.click()
        await view.wait_idle()
        assert studio.mode == "remix_image"
        assert len(studio.sources) == 1 and studio.sources[0].startswith(sim.cdn_url)
        assert "remix source" in view.message.value

    run_studio(sim, body)


def test_default_history_is_the_default_clients_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(tmp_path / "here"))
    assert History().root == tmp_path / "here"
    with pytest.raises(ValidationError):
        History(42)  # type: ignore[arg-type]
    assert os.fspath(History(tmp_path).root) == os.fspath(tmp_path)


def test_aload_reads_off_the_loop(saved) -> None:
    store, _ = saved
    history = History(store.root, load=False)
    threads = []
    original = history.workspace.sync

    def spy(*args):
        import threading

        threads.append(threading.current_thread().name)
        return original(*args)

    history.workspace.sync = spy  # type: ignore[method-assign]

    async def main() -> None:
        await history.aload()

    asyncio.run(main())
    assert history.loaded and len(history.entries) == 3
    assert threads and threads[0].startswith("flux2-workspace")


@pytest.fixture
def many(tmp_path):
    """25 results saved a minute apart, without a server (as a long-used folder holds them)."""
    from workspace_worker import generation

    store = ResultStore(tmp_path / "many")
    for i in range(25):
        gen = generation(f"task-{i:02d}", f"{'a red fox' if i % 5 == 0 else 'a grey heron'} number {i}", i,
                         tier=("pro", "flex")[i % 2])
        gen.completed_at = gen.task.observed_at = 1_800_000_000 + 60 * i
        store.save(gen)
    return store


def test_history_pages_newest_first_and_filters_in_the_database(many) -> None:
    history = History(many.root, page_size=10)
    first = history.page(1)
    assert (first.number, first.pages, first.total, first.text) == (1, 3, 25, "page 1 of 3")
    assert [e.task_id for e in first] == [f"task-{i:02d}" for i in range(24, 14, -1)]
    last = history.page(3)
    assert [e.task_id for e in last] == [f"task-{i:02d}" for i in range(4, -1, -1)]
    assert history.page(9).number == 3, "past the last page: the last"
    foxes = history.where("RED FOX", tier="pro")
    assert [e.task_id for e in history.page(1, foxes)] == ["task-20", "task-10", "task-00"]
    assert history.count(foxes) == 3 and len(history) == 25 and history[0].task_id == "task-24"
    assert history[-1].task_id == "task-00"
    with pytest.raises(ValidationError) as info:
        history.page(0)
    assert info.value.field == "page"
    with pytest.raises(ValidationError):
        History(many.root, page_size=0)


def test_stars_tags_and_notes_survive_a_restart_and_filter(many) -> None:
    history = History(many.root)
    entry = history.star("task-03")
    assert entry.starred
    history.tag("task-03", "heron")
    history.tag(history["task-07"], "heron")
    history.note("task-07", "best light")
    with pytest.raises(ValidationError) as info:
        history.tag("task-07", "  ")
    assert info.value.field == "tag"
    from flux2_widgets.workspace import _workspace

    _workspace._shared.clear()  # a new kernel
    again = History(many.root)
    assert [e.task_id for e in again.filter(starred=True)] == ["task-03"]
    assert [e.task_id for e in again.filter(tag="heron")] == ["task-07", "task-03"]
    assert again["task-07"].note == "best light" and again["task-03"].tags == ("heron",)
    assert [e.task_id for e in again.filter("heron", tag="heron", starred=False)] == ["task-07"]
    assert len(again.filter(limit=4)) == 4
    assert again.untag("task-03", "heron").tags == () and not again.star("task-03", on=False).starred


def test_a_wrong_entry_page_or_flag_is_refused_by_name(many) -> None:
    history = History(many.root)
    for call, field in ((lambda: history.star(None), "entry"),
                        (lambda: history.star("no-such-task"), "entry"),
                        (lambda: history.note(10**6, "x"), "entry"), (lambda: history.star(0, on="no"), "on"),
                        (lambda: history.page(10**30), "page"), (lambda: history.page(1, where=5), "where")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field
    assert not history.filter(starred=True), "nothing was starred by a refused call"


def test_history_lists_saved_comparisons_as_records(many) -> None:
    history = History(many.root)
    ws = history.workspace
    ws.comparisons.create(kind="tiers", title="older", row_labels=["p"], col_labels=["Pro", "Flex"],
                          created_at=1.0)
    ws.comparisons.create(kind="prompts", title="newer", row_labels=[""], col_labels=["A", "B"],
                          cells=[(0, 0, "task-01"), (0, 1, "task-02")], created_at=2.0)
    records = history.comparisons.records  # the bare records; comparisons[i] builds one
    assert [r.title for r in records] == ["newer", "older"]
    assert records[0].task_id(0, 1) == "task-02"


def test_history_view_pages_stars_tags_and_notes(many) -> None:
    history = History(many.root, page_size=10)

    async def body() -> None:
        view = history.view()
        await view.wait_idle()
        assert view.page_label.value == "page 1 of 3" and len(view.cards) == 10
        assert view.prev_button.disabled and not view.next_button.disabled
        view.next_button.click()
        await view.wait_idle()
        assert view.page_label.value == "page 2 of 3" and view.cards[0].entry.task_id == "task-14"
        card = view.cards[0]
        card.star.value = True
        await view.wait_idle()
        card.tag_field.value = "keeper"
        await view.wait_idle()
        card.note.value = "sharp feathers"
        await view.wait_idle()
        assert card.entry.starred and card.entry.tags == ("keeper",) and "#keeper" in card.tags.value
        assert card.tag_field.value == ""
        saved = History(many.root)["task-14"]
        assert (saved.starred, saved.tags, saved.note) == (True, ("keeper",), "sharp feathers")
        card.tag_field.value = "-keeper"
        await view.wait_idle()
        assert History(many.root)["task-14"].tags == ()
        view.starred_filter.value = True
        await view.wait_idle()
        assert [c.entry.task_id for c in view.cards] == ["task-14"] and view.page_label.value == "page 1 of 1"
        assert "1 of 25 results" in view.count.value
        view.starred_filter.value = False
        view.prompt_filter.value = "fox"
        await view.wait_idle()
        assert {c.entry.task_id for c in view.cards} == {f"task-{i:02d}" for i in (20, 15, 10, 5, 0)}
        view.prompt_filter.value = ""
        await view.wait_idle()
        view.next_button.click()
        await view.wait_idle()
        view.newest_button.click()
        await view.wait_idle()
        assert view.page_label.value == "page 1 of 3"

    asyncio.run(body())


def test_a_wrong_filter_limit_or_position_is_refused_by_name(many) -> None:
    history = History(many.root)
    for call, field in ((lambda: history.filter(123), "prompt"),
                        (lambda: history.where(["fox"]), "prompt"),
                        (lambda: history.filter(limit="5"), "limit"),
                        (lambda: history.filter(limit=float("nan")), "limit"),
                        (lambda: history.filter(limit=True), "limit"),
                        (lambda: history.filter(limit=0), "limit"),
                        (lambda: history.filter(limit=2.0), "limit"),
                        (lambda: history[10**20], "index"), (lambda: history[-10**20], "index"),
                        (lambda: history[None], "index"), (lambda: history[1.5], "index"),
                        (lambda: history[True], "index"),
                        (lambda: history.star(10**20), "entry"),
                        (lambda: history.note(-10**20, "x"), "entry")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field and field in str(info.value)
    assert len(history.filter(limit=3)) == 3 and history.filter("FOX", limit=None)
    with pytest.raises(IndexError):
        history[10**6]  # a position past the last: as a list says it


def test_a_page_is_a_sequence_of_its_entries(many) -> None:
    page = History(many.root, page_size=10).page(1)
    assert len(page) == 10 and list(page) == page.entries
    assert page[0].task_id == "task-24" and page[-1].task_id == "task-15"
    assert [e.task_id for e in page[:2]] == ["task-24", "task-23"]
    with pytest.raises(IndexError):
        page[10]
    with pytest.raises(ValidationError) as info:
        page["task-24"]
    assert info.value.field == "index"


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_text_no_database_keeps_is_refused_by_name_and_nothing_is_written(many, bad) -> None:
    history = History(many.root)
    for call, field in ((lambda: history.note("task-03", bad), "note"),
                        (lambda: history.tag("task-03", bad), "tag"),
                        (lambda: history.untag("task-03", bad), "tag"),
                        (lambda: history.filter(bad), "prompt"),
                        (lambda: history.filter(tag=bad), "tag"),
                        (lambda: history[bad], "index"), (lambda: history.star(bad), "entry")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field and field in str(info.value)
    entry = history["task-03"]
    assert (entry.note, entry.tags, entry.starred) == ("", (), False)
