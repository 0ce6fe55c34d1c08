"""Moving a class from a folder's SQLite file to PostgreSQL: everything the database holds that
the folder cannot rebuild (stars, tags, notes, comparisons and votes, budgets, arenas with their
previews and votes) arrives once, the results are indexed there, and new votes go on after the
copied ones. A copy run twice doubles nothing."""

from __future__ import annotations

from conftest import SECRET_KEY
from workspace_support import postgres_url

from flux2_widgets import Arena, Flux2Client, History, PollPolicy, ResultStore, compare_prompts
from flux2_widgets.workspace import Workspace


def test_a_sqlite_workspace_moves_to_postgresql_with_nothing_lost(sim, tmp_path):
    url = postgres_url()
    folder = tmp_path / "results"
    store = ResultStore(folder)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store,
                     poll=PollPolicy(first=0.02, min_interval=0.01)) as client:
        ab = compare_prompts("a teapot, watercolor", "a teapot, pencil sketch", client=client).wait(10)
        ab.vote("a", note="softer")
        arena = Arena.create("room", ["a red fox in fresh snow"], tier=["pro", "flex"],
                             client=client).wait(20)
        arena.vote(arena.pairs[0], "Pro", voter="ada")
    history = History(folder)
    entry = history.page(1).entries[0]
    history.star(entry)
    history.tag(entry, "keeper")
    history.note(entry, "for the slides")
    local = Workspace(folder)
    local.budget.set_cap(total=5.0, per_day=1.0)
    before = local.budget.status()

    report = local.copy_to(url)
    assert report.results == 4
    assert report.copied["arena_votes"] == 1 and report.copied["comparison_votes"] == 1
    again = local.copy_to(url)
    assert not any(again.copied.values())  # run twice: nothing doubled

    remote = Workspace(folder, database_url=url)
    assert remote.dialect == "postgresql" and "secret" not in repr(remote).lower()
    assert remote.budget.status() == before  # caps, and what was spent on the way
    assert [v.choice for v in remote.comparisons.votes(ab.id)] == ["a"]
    moved = Arena.open("room", folder=folder, database_url=url)
    assert [(v.voter, v.variant) for v in moved.votes] == [("ada", "Pro")]
    assert moved.preview(moved.pairs[0], "left") == arena.preview(arena.pairs[0], "left")
    moved.vote(moved.pairs[0], "tie", voter="bob")  # ids go on after the copied ones
    assert len(moved.votes) == 2
    there = History(ResultStore(folder, database_url=url))
    assert there.count() == 4
    assert there.filter(starred=True, tag="keeper")[0].task_id == entry.task_id
    remote.close()
    local.close()
