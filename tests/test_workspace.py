"""The workspace database, each test run against SQLite (the file in the folder) and a
real PostgreSQL server: budgets, arenas, comparisons, the results index, schema versions,
and 8 real processes writing at once."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from workspace_support import database_url, finish, jpeg, race_job, start_worker
from workspace_worker import generation

from flux2_widgets import (
    ArenaExistsError,
    BudgetExceededError,
    DuplicateVoteError,
    ResultStore,
    ValidationError,
    Workspace,
    WorkspaceError,
)
from flux2_widgets.workspace import ComparisonCell, ResultFilter, make_preview

__all__ = ["database_url"]  # the fixture, imported for pytest
Q = "Which is better?"


@pytest.fixture
def ws(tmp_path, database_url):
    workspace = Workspace(tmp_path / "results", database_url=database_url)
    yield workspace
    workspace.close()


# -- budget ------------------------------------------------------------------------------
def test_reserve_checks_every_cap_and_records_nothing_when_refused(ws) -> None:
    ws.budget.set_cap("workspace", total=1.00)
    ws.budget.set_cap("visitor:ann", total=0.30, per_day=0.20)
    r = ws.budget.reserve("k1", 0.15, scopes=("workspace", "visitor:ann"))
    assert (r.amount, r.scopes, r.state) == (0.15, ("visitor:ann", "workspace"), "reserved")
    assert ws.budget.reserve("k1", 0.15, scopes=("workspace", "visitor:ann")) == r, "same key: once"
    with pytest.raises(BudgetExceededError) as info:
        ws.budget.reserve("k2", 0.10, scopes=("workspace", "visitor:ann"))
    err = info.value
    assert (err.scope, err.period, err.cap, err.spent, err.reserved, err.left) == \
        ("visitor:ann", "day", 0.20, 0.0, 0.15, 0.05)
    assert "visitor:ann" in str(err) and "$0.20" in str(err) and "Nothing was recorded" in str(err)
    assert ws.budget.get("k2") is None, "refused: nothing recorded"
    assert ws.budget.status("workspace").reserved == 0.15
    # settled: billed; twice counts once; a release after it changes nothing
    s = ws.budget.settle("k1", 0.05)
    assert (s.state, s.cost) == ("settled", 0.05)
    assert ws.budget.settle("k1", 0.05) == s and ws.budget.release("k1") == s
    status = ws.budget.status("visitor:ann")
    assert (status.spent, status.reserved, status.left, status.spent_today, status.left_today) == \
        (0.05, 0.0, 0.25, 0.05, 0.15)
    assert status.day == datetime.now(timezone.utc).strftime("%Y-%m-%d")
    # released: not charged, stops counting; never settled: stays counted ("may still be billed")
    ws.budget.reserve("k3", 0.10, scopes="visitor:ann")
    ws.budget.reserve("k4", 0.05, scopes="visitor:ann")
    assert ws.budget.release("k3").state == "released"
    assert ws.budget.status("visitor:ann").reserved == 0.05
    assert [r.key for r in ws.budget.outstanding("visitor:ann")] == ["k4"]
    assert ws.budget.release("never") is None
    # a released key sent again (the same Idempotency-Key, after a refused create) is held
    # anew, and checked against the caps again: it cannot slip past them
    ws.budget.reserve("k5", 0.10, scopes="visitor:ann")
    with pytest.raises(BudgetExceededError):
        ws.budget.reserve("k3", 0.10, scopes="visitor:ann")
    assert ws.budget.get("k3").state == "released"
    ws.budget.release("k5")
    again = ws.budget.reserve("k3", 0.10, scopes="visitor:ann")
    assert again.state == "reserved" and ws.budget.status("visitor:ann").reserved == 0.15
    # amounts too large for the ledger are refused by name, not by the database
    for call, field in ((lambda: ws.budget.set_cap(total=1e20), "total"),
                        (lambda: ws.budget.set_cap(per_day=1e13), "per_day"),
                        (lambda: ws.budget.reserve("k9", 1e14), "amount")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field


def test_per_day_caps_reset_on_the_utc_day_and_totals_do_not(ws) -> None:
    day = [datetime(2026, 3, 1, 23, 0, tzinfo=timezone.utc).timestamp()]
    ws.budget.clock = lambda: day[0]
    ws.budget.set_cap("class", total=0.50, per_day=0.20)
    ws.budget.reserve("a", 0.20, scopes="class")
    with pytest.raises(BudgetExceededError, match="per-day cap \\(UTC 2026-03-01\\)"):
        ws.budget.reserve("b", 0.01, scopes="class")
    day[0] += 2 * 3600  # 01:00 UTC the next day
    ws.budget.reserve("b", 0.20, scopes="class")
    ws.budget.settle("b", 0.20)
    status = ws.budget.status("class")
    assert (status.day, status.spent_today, status.reserved, status.spent, status.left) == \
        ("2026-03-02", 0.2, 0.2, 0.2, 0.1)
    with pytest.raises(BudgetExceededError) as info:
        ws.budget.reserve("c", 0.15, scopes="class")
    assert info.value.period == "total" and info.value.left == 0.1


def test_many_reservations_are_read_at_once(ws) -> None:
    keys = [f"k{i}" for i in range(1203)]  # past one query's share of parameters
    for key in keys:
        ws.budget.reserve(key, 0.05, ("workspace", "visitor:ada"))
    ws.budget.settle("k7", 0.04)
    ws.budget.release("k8")
    found = ws.budget.get_many([*keys, "never-reserved", "k7"])
    assert len(found) == 1203 and "never-reserved" not in found
    assert (found["k7"].state, found["k7"].cost, found["k8"].state) == ("settled", 0.04, "released")
    assert found["k9"] == ws.budget.get("k9") and found["k9"].scopes == ("visitor:ada", "workspace")


def test_budget_input_is_checked(ws) -> None:
    for call, field in ((lambda: ws.budget.reserve("", 0.1), "key"),
                        (lambda: ws.budget.reserve("k", -1), "amount"),
                        (lambda: ws.budget.reserve("k", float("nan")), "amount"),
                        (lambda: ws.budget.reserve("k", 0.1, scopes=()), "scopes"),
                        (lambda: ws.budget.set_cap("w", total=True), "total"),
                        (lambda: ws.budget.set_cap(["a", "b"], total=1), "scope"),
                        (lambda: ws.budget.status(["a", "b"]), "scope")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field
    with pytest.raises(WorkspaceError, match="no reservation"):
        ws.budget.settle("unknown", 0.05)
    assert ws.budget.settle("resumed", 0.07, scopes="workspace").state == "settled"
    assert ws.budget.status().spent == 0.07 and ws.budget.status().cap is None


# -- arenas ------------------------------------------------------------------------------
def test_arena_pairs_votes_counts_and_one_vote_per_voter_pair_question(ws) -> None:
    arena = ws.arenas.create("class-42", variants=["pro", "flex"], questions=[Q, "Which is sharper?"],
                             config={"prompts": ["a fox"]})
    assert arena.variants == ("pro", "flex") and arena.config["prompts"] == ["a fox"]
    with pytest.raises(ArenaExistsError, match="class-42"):
        ws.arenas.create("class-42", variants=["pro", "flex"])
    preview = make_preview(generation("t", "a prompt", 1).image.data)
    assert preview.startswith(b"\xff\xd8")
    p1 = ws.arenas.add_pair("class-42", prompt="a fox", left_variant="pro", right_variant="flex",
                            left_task_id="t1", right_task_id="t2", left_preview=jpeg(), right_preview=preview)
    ws.arenas.add_pair("class-42", prompt="a kite", left_variant="flex", right_variant="pro",
                            left_task_id="t3", right_task_id="t4", left_preview=jpeg(), right_preview=jpeg(),
                            pair_id="p2")
    assert [p.pair_id for p in ws.arenas.pairs("class-42")] == [p1.pair_id, "p2"]
    assert ws.arenas.preview("class-42", p1.pair_id, "right") == preview
    v1 = ws.arenas.vote("class-42", p1.pair_id, voter="ann", question=Q, choice="left")
    assert (v1.choice, v1.variant) == ("left", "pro")
    with pytest.raises(DuplicateVoteError, match="first vote stands"):
        ws.arenas.vote("class-42", p1.pair_id, voter="ann", question=Q, choice="right")
    ws.arenas.vote("class-42", p1.pair_id, voter="ann", question="Which is sharper?", choice="tie")
    v3 = ws.arenas.vote("class-42", "p2", voter="bob", question=Q, choice="left", note="crisper")
    assert v3.variant == "flex" and v3.note == "crisper"
    assert [v.id for v in ws.arenas.votes("class-42")] == sorted(v.id for v in ws.arenas.votes("class-42"))
    assert [v.voter for v in ws.arenas.votes("class-42", since=v1.id)] == ["ann", "bob"]
    counts = ws.arenas.counts("class-42", question=Q)
    pro, flex = counts["pro"], counts["flex"]
    assert (pro.wins, pro.losses, flex.wins, flex.losses) == (1, 1, 1, 1)
    assert ws.arenas.counts("class-42")["pro"].ties == 1
    assert ws.arenas.voters("class-42") == 2
    assert ws.arenas.voters("class-42", question="Which is sharper?") == 1
    assert [p.pair_id for p in ws.arenas.unvoted("class-42", voter="ann", question=Q)] == ["p2"]
    assert [a.name for a in ws.arenas.all()] == ["class-42"]


def test_arena_input_is_checked(ws) -> None:
    ws.arenas.create("a", variants=["x", "y"])
    bad = [(lambda: ws.arenas.create("b", variants=["x"]), "variants"),
           (lambda: ws.arenas.add_pair("a", prompt="p", left_variant="x", right_variant="z", left_task_id="1",
                                       right_task_id="2", left_preview=jpeg(), right_preview=jpeg()),
            "variant"),
           (lambda: ws.arenas.add_pair("a", prompt="p", left_variant="x", right_variant="y", left_task_id="1",
                                       right_task_id="2", left_preview=b"GIF89a", right_preview=jpeg()),
            "left_preview"),
           (lambda: ws.arenas.add_pair("a", prompt="p", left_variant="x", right_variant="y", left_task_id="1",
                                       right_task_id="2", left_preview=jpeg(side=600, noise=True),
                                       right_preview=jpeg()), "left_preview")]
    bad += [(lambda v=v: ws.arenas.add_pair("a", prompt="p", left_variant="x", right_variant="y",
                                            left_task_id="1", right_task_id="2", left_preview=jpeg(),
                                            right_preview=jpeg(), position=v), "position")
            for v in (-1, 1.5, True, "2")]
    for call, field in bad:
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field
    # a pair placed first comes first, whenever it was added
    late = ws.arenas.add_pair("a", prompt="late", left_variant="x", right_variant="y", left_task_id="3",
                              right_task_id="4", left_preview=jpeg(), right_preview=jpeg(), position=5)
    pair = ws.arenas.add_pair("a", prompt="p", left_variant="x", right_variant="y", left_task_id="1",
                              right_task_id="2", left_preview=jpeg(), right_preview=jpeg(), position=0)
    assert [p.pair_id for p in ws.arenas.pairs("a")] == [pair.pair_id, late.pair_id]
    with pytest.raises(ValidationError) as info:
        ws.arenas.vote("a", pair.pair_id, voter="v", question=Q, choice="up")
    assert info.value.field == "choice"
    with pytest.raises(ValidationError):
        ws.arenas.vote("a", pair.pair_id, voter="v", question="Which is nicer?", choice="left")
    with pytest.raises(WorkspaceError, match="no pair"):
        ws.arenas.vote("a", "nope", voter="v", question=Q, choice="left")
    with pytest.raises(WorkspaceError, match="no arena"):
        ws.arenas.get("nowhere")


# -- comparisons -------------------------------------------------------------------------
def test_comparisons_and_votes_are_saved_and_listed_newest_first(ws) -> None:
    first = ws.comparisons.create(kind="tiers", title="Pro vs Flex", row_labels=["a fox"],
                                  col_labels=["Pro · 1k", "Flex · 1k"],
                                  sides=[("pro", "Pro"), ("flex", "Flex")], blind=True, seed=1234,
                                  cells=[(0, 0, "task-a")], plan={"budget": 1.0},
                                  created_at=time.time() - 60)
    second = ws.comparisons.create(kind="prompts", title="A/B", row_labels=[""], col_labels=["A", "B"],
                                   id="cmp-2")
    assert ws.comparisons.create(kind="prompts", title="changed", row_labels=[""], col_labels=["A", "B"],
                                 id="cmp-2").title == "A/B", "the same id again: the saved one stands"
    ws.comparisons.set_cell(first.id, 0, 1, "task-b")
    again = ws.comparisons.get(first.id)
    assert again.cells == (ComparisonCell(0, 0, "task-a"), ComparisonCell(0, 1, "task-b"))
    assert (again.blind, again.seed, again.plan) == (True, 1234, {"budget": 1.0})
    assert again.sides == (("pro", "Pro"), ("flex", "Flex"))
    assert again.task_id(0, 1) == "task-b" and again.task_id(1, 1) is None
    assert [c.id for c in ws.comparisons.recent()] == [second.id, first.id]
    assert [c.id for c in ws.comparisons.recent(kind="tiers")] == [first.id]
    ws.comparisons.vote(first.id, "flex", voter="ann", blind=True, question=Q, shown_as="left", at=100.0)
    ws.comparisons.vote(first.id, "tie", voter="bob", note="close", at=200.0)
    votes = ws.comparisons.votes(first.id)
    assert [(v.voter, v.choice, v.blind, v.shown_as, v.note) for v in votes] == \
        [("bob", "tie", False, None, "close"), ("ann", "flex", True, "left", "")]
    with pytest.raises(WorkspaceError, match="no saved comparison"):
        ws.comparisons.vote("nope", "a")
    ws.comparisons.delete(first.id)
    assert [c.id for c in ws.comparisons.recent()] == [second.id] and ws.comparisons.votes(first.id) == []


# -- the results index -------------------------------------------------------------------
def test_saved_results_are_indexed_paged_filtered_and_annotated(tmp_path, database_url) -> None:
    store = ResultStore(tmp_path / "results", database_url=database_url)
    for i, tier in enumerate(["pro", "flex", "pro"]):
        store.save(generation(f"t{i}", ["a red fox", "a lighthouse", "a red kite"][i], i, tier=tier))
    results = store.workspace.results
    page, total = results.page(limit=2)
    assert total == 3 and [r.task_id for r in page] == ["t2", "t1"]
    assert [r.task_id for r in results.page(offset=2, limit=2)[0]] == ["t0"]
    assert [r.task_id for r in results.page(ResultFilter(prompt="RED"))[0]] == ["t2", "t0"]
    assert results.count(ResultFilter(tier="flex")) == 1
    results.star("t0")
    results.tag("t0", " fox ")
    results.tag("t0", "fox")
    results.note("t0", "the good one")
    record = results.get("t0")
    assert (record.starred, record.tags, record.note) == (True, ("fox",), "the good one")
    assert record.files == (f"{record.sidecar.split('/')[0]}/t0-0.png",)
    assert [r.task_id for r in results.page(ResultFilter(starred=True))[0]] == ["t0"]
    assert [r.task_id for r in results.page(ResultFilter(starred=False))[0]] == ["t2", "t1"]
    assert [r.task_id for r in results.page(ResultFilter(tag="fox"))[0]] == ["t0"]
    assert results.page(ResultFilter(prompt="100%"))[0] == [], "LIKE wildcards are literal"
    assert results.all_tags() == [("fox", 1)]
    results.untag("t0", "fox")
    results.star("t0", on=False)
    assert (results.get("t0").starred, results.get("t0").tags) == (False, ())
    store.workspace.close()


def test_schema_version_is_recorded_and_a_newer_one_refused(tmp_path, database_url) -> None:
    ws = Workspace(tmp_path, database_url=database_url)
    assert ws.budget.status().spent == 0
    versions = ws.backend.read(lambda tx: tx.all("SELECT version FROM schema_version"))
    assert versions == [(1,)]
    ws.backend.write(lambda tx: tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)"))
    ws.close()
    newer = Workspace(tmp_path, database_url=database_url)
    with pytest.raises(WorkspaceError, match="schema version 99, newer than"):
        newer.budget.status()


# -- 8 real processes at once ------------------------------------------------------------
def test_eight_processes_write_results_votes_and_reservations_at_once(tmp_path, database_url) -> None:
    folder = tmp_path / "results"
    cap, amount = 1.00, 0.07  # 14 of 8 x 6 = 48 attempts fit
    ws, cmp_id, job = race_job(folder, database_url, results=12, votes=10, reservations=6, cap=cap,
                               amount=amount)
    procs = [start_worker({**job, "worker": i}) for i in range(8)]
    outs = [finish(p) for p in procs]
    saved = [t for o in outs for t in o["saved"]]
    assert len(saved) == 96 and len(set(saved)) == 96
    page, total = ws.results.page(limit=500)
    assert total == 96 and sorted(r.task_id for r in page) == sorted(saved), "0 lost, 0 duplicated"
    assert all(r.files and (folder / r.files[0]).stat().st_size > 0 for r in page), "0 corrupt"
    assert len(ws.comparisons.votes(cmp_id)) == sum(o["votes"] for o in outs) == 80
    votes = ws.arenas.votes("race")
    assert len(votes) == 40 and len({(v.voter, v.pair_id) for v in votes}) == 40
    assert sum(o["duplicates_refused"] for o in outs) == 40
    reserved = [k for o in outs for k in o["reserved"]]
    status = ws.budget.status()
    assert len(reserved) == int(cap // amount) == 14, "exactly what fits: never past the cap"
    assert status.reserved == pytest.approx(14 * amount) and status.reserved <= cap
    assert sum(o["refused"] for o in outs) == 48 - 14
    ws.close()


def test_without_a_postgresql_server_ci_fails_and_elsewhere_skips(monkeypatch) -> None:
    import pg_cluster
    import workspace_support

    def broken() -> None:
        raise RuntimeError("PostgreSQL could not start: no server binaries")

    monkeypatch.setattr(pg_cluster, "cluster", broken)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        workspace_support.postgres_url()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no server binaries"):
        workspace_support.postgres_url()


def test_one_voter_clicking_in_six_processes_at_once_records_one_vote(tmp_path, database_url) -> None:
    folder = tmp_path / "results"
    ws = Workspace(folder, database_url=database_url)
    ws.arenas.create("clicks", variants=["pro", "flex"])
    pairs = [ws.arenas.add_pair("clicks", prompt=f"p{i}", left_variant="pro", right_variant="flex",
                                left_task_id=f"l{i}", right_task_id=f"r{i}", left_preview=jpeg(),
                                right_preview=jpeg()).pair_id for i in range(10)]
    job = {"mode": "race", "folder": str(folder), "url": database_url, "results": 0, "votes": 0,
           "comparison": "", "arena": "clicks", "pairs": pairs, "reservations": 0, "amount": 0,
           "voter": "the-same-person", "start_at": time.time() + 2.0}
    outs = [finish(p) for p in [start_worker({**job, "worker": i}) for i in range(6)]]
    votes = ws.arenas.votes("clicks")
    assert sorted(v.pair_id for v in votes) == sorted(pairs), "one vote per pair, whoever clicked first"
    assert sum(o["arena_votes"] for o in outs) == 10
    assert sum(o["duplicates_refused"] for o in outs) == 6 * 2 * 10 - 10
    ws.close()
