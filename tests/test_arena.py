"""The arena: a blind preference test a room votes in. Made once (its images generated under a
budget, pairs and previews in the workspace database), opened by name from any process, voted on
at most once per voter, pair and question, with sides randomized and balanced per voter, ranked
with intervals, and a verdict valid however often it is looked at. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
from conftest import SECRET_KEY, until
from workspace_support import database_url  # noqa: F401  (the sqlite / postgresql parameter)

from flux2_widgets import (
    Arena,
    BudgetExceededError,
    DuplicateVoteError,
    Flux2Client,
    PollPolicy,
    ResultStore,
    ValidationError,
    compare_until_decided,
)

FAST = PollPolicy(first=0.02, min_interval=0.01)
PROMPTS = ["a red fox in fresh snow", "a teapot, watercolor", "a bowl of ramen, steam"]
QUESTIONS = ["Which follows the prompt better?", "Which looks better?"]


@pytest.fixture
def client(sim, tmp_path, database_url):  # noqa: F811
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST,
                     store=ResultStore(tmp_path / "results", database_url=database_url)) as c:
        yield c


def _arena(client, name="pro-vs-flex", **kw):
    options = {"tier": ["pro", "flex"], "questions": QUESTIONS, **kw}
    return Arena.create(name, PROMPTS, client=client, **options).wait(30)


def test_an_arena_is_made_once_under_its_budget_and_opens_by_name(sim, client, tmp_path, database_url):  # noqa: F811
    plan = Arena.plan(PROMPTS, tier=["pro", "flex"])
    assert plan.estimate_text == "6 cells, about $0.57"  # the cost, before anything is sent
    with pytest.raises(BudgetExceededError):
        Arena.create("too-dear", PROMPTS, tier=["pro", "flex"], client=client, budget=0.50)
    assert sim.count("POST") == 0
    assert Arena.names(folder=tmp_path / "results", database_url=database_url) == []
    arena = _arena(client)
    assert sim.stats.tasks_created == 6 and arena.variants == ("Pro", "Flex")
    pairs = arena.pairs
    assert [p.prompt for p in pairs] == PROMPTS and all({p.left_variant, p.right_variant} == {"Pro", "Flex"}
                                                       for p in pairs)
    for pair in pairs:
        for side in ("left", "right"):
            jpeg = arena.preview(pair, side)
            assert jpeg[:2] == b"\xff\xd8" and 5_000 < len(jpeg) < 256 * 1024  # a preview, not the image
    assert arena.cost() == pytest.approx(sim.stats.total_charged) == pytest.approx(0.57)
    # a taken name is refused, nothing sent
    posts = sim.count("POST")
    with pytest.raises(Exception, match="exists already"):
        Arena.create("pro-vs-flex", PROMPTS, tier=["pro", "flex"], client=client)
    assert sim.count("POST") == posts
    with pytest.raises(ValidationError, match=r"no arena named 'nope'.*pro-vs-flex"):
        Arena.open("nope", folder=tmp_path / "results", database_url=database_url)
    again = Arena.open("pro-vs-flex", folder=tmp_path / "results", database_url=database_url)
    assert again.questions == tuple(QUESTIONS) and len(again.pairs) == 3


def test_what_the_arena_cost_reads_while_it_is_made_and_when_a_case_breaks(make_sim, tmp_path):
    sim = make_sim(latency=0.3)
    sim.inject("fail_task", times=1)  # one image of one case fails: that case never pairs
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST,
                     store=ResultStore(tmp_path / "results")) as client:
        arena = Arena.create("broken", PROMPTS, tier=["pro", "flex"], client=client)
        while_made = arena.cost_text()
        assert while_made.startswith("would have cost about $0.") and "$0.00" not in while_made
        arena.wait(30)
        assert len(arena.pairs) == 2 and sim.stats.tasks_created == 6
        # the unpaired case's image that was made still cost its price
        assert arena.cost() == pytest.approx(sim.stats.total_charged) and sim.stats.total_charged > 0.38
        reopened = Arena.open("broken", folder=tmp_path / "results")
        assert reopened.cost() == pytest.approx(sim.stats.total_charged)
        assert reopened.cost_text() == f"would have cost ${sim.stats.total_charged:.2f}"


def test_each_voter_sees_every_pair_once_per_question_with_balanced_sides(client):
    arena = _arena(client)
    lefts: Counter[str] = Counter()
    for voter in ("ada", "bob", "cy", "dee"):
        seen = []
        while (shown := arena.next_pair(voter)) is not None:
            assert shown.total == 6 and shown.number == len(seen) + 1
            seen.append((shown.pair_id, shown.question))
            lefts[f"{voter}:{shown.left_variant}"] += 1
            choice = "left" if shown.left_variant == "Pro" else "right"  # everyone prefers Pro
            vote = arena.vote(shown, choice, voter=voter)
            assert vote.variant == "Pro"
        assert sorted(seen) == sorted((p.pair_id, q) for p in arena.pairs for q in QUESTIONS)
        assert arena.progress(voter) == (6, 6)
        # balanced: Pro on the left in half the voter's pairs (3 pairs x 2 questions: 2 or 4 of 6)
        assert abs(lefts[f"{voter}:Pro"] - lefts[f"{voter}:Flex"]) <= 2
    # voters see different orders and sides
    assert len({arena._order(v, arena.pairs)[0][0].pair_id + str(arena._order(v, arena.pairs)[0][1])
                for v in ("ada", "bob", "cy", "dee", "eve", "fay")}) > 1
    rows = arena.leaderboard(QUESTIONS[0])
    assert [r["variant"] for r in rows] == ["Pro", "Flex"]
    assert rows[0]["wins"] == 12 and rows[0]["votes"] == 12
    assert 0 < rows[0]["ci_low"] < rows[0]["ci_high"] == 1.0
    assert arena.voters() == 4 and len(arena.votes) == 24


def test_votes_are_refused_by_name_and_never_recorded_twice(client):
    arena = _arena(client)
    pair = arena.pairs[0]
    assert arena.vote(pair, "skip", voter="ada") is None and arena.votes == []
    arena.vote(pair, "Flex", voter="ada", question=QUESTIONS[1], note="crisper")  # a variant's name
    with pytest.raises(DuplicateVoteError, match="first vote stands"):
        arena.vote(pair, "left", voter="ada", question=QUESTIONS[1])
    for bad, field in ((dict(choice="sideways"), "choice"), (dict(choice=3), "choice"),
                       (dict(question="Which is bluer?"), "question"), (dict(voter=""), "voter"),
                       (dict(voter=None), "voter")):
        args = {"choice": "left", "voter": "bob", **bad}
        with pytest.raises(ValidationError) as info:
            arena.vote(pair, args.pop("choice"), **args)
        assert info.value.field == field
    with pytest.raises(ValidationError, match="no pair 'nope'"):
        arena.vote("nope", "left", voter="bob")
    assert [(v.voter, v.variant, v.note) for v in arena.votes] == [("ada", "Flex", "crisper")]


def test_votes_from_other_processes_land_once(client, tmp_path, database_url):  # noqa: F811
    arena = _arena(client)
    voter = textwrap.dedent('''
        import json, sys
        from flux2_widgets import Arena, DuplicateVoteError
        arena = Arena.open(sys.argv[1], folder=sys.argv[2], database_url=sys.argv[3] or None)
        done = dup = 0
        for i in range(2):  # the same voter in two processes: one vote each
            while (shown := arena.next_pair(sys.argv[4])) is not None:
                try:
                    arena.vote(shown, "left", voter=sys.argv[4]); done += 1
                except DuplicateVoteError:
                    dup += 1; break
        print(json.dumps({"done": done, "dup": dup}))
    ''')
    procs = [subprocess.Popen([sys.executable, "-c", voter, arena.name, str(tmp_path / "results"),
                               database_url or "", name], stdout=subprocess.PIPE, text=True)
             for name in ("ada", "ada", "bob", "cy")]
    results = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    assert sum(r["done"] for r in results) == 18  # three voters x 6, whatever the racing
    votes = arena.votes
    assert len(votes) == 18 and len({(v.voter, v.pair_id, v.question) for v in votes}) == 18


def test_wrong_arguments_are_refused_by_name_before_anything_is_sent(sim, client):
    arena = _arena(client, name="args")
    posts = sim.count("POST")
    for call, field in ((lambda: compare_until_decided(prompt=[], tiers=("pro", "flex"), budget=1), "prompt"),
                        (lambda: compare_until_decided("a fox", tiers=5, budget=1), "tiers"),
                        (lambda: compare_until_decided(prompts=5, budget=1), "prompts"),
                        (lambda: Arena.create("q", PROMPTS, tier=["pro", "flex"], questions=5), "questions"),
                        (lambda: arena.next_pair("ada", skipped=None), "skipped"),
                        (lambda: arena.next_pair("ada", skipped=["p1"]), "skipped"),
                        (lambda: arena.vote(None, "left", voter="ada"), "pair"),
                        (lambda: arena.vote(5, "left", voter="ada"), "pair"),
                        (lambda: arena.verdict(alpha=2), "alpha"),
                        (lambda: arena.verdict(alpha=float("nan")), "alpha")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field
    assert sim.count("POST") == posts and arena.votes == []


def test_three_variants_get_bradley_terry_intervals_and_a_verdict(client):
    arena = Arena.create("styles", "a {subject}, {style}", subject=["teapot", "fox"],
                         style=["watercolor", "pencil sketch", "studio photo"], vary="style",
                         client=client, questions=["Which do you like?"]).wait(30)
    assert arena.variants == ("watercolor", "pencil sketch", "studio photo") and len(arena.pairs) == 6
    assert arena.verdict().text == "No votes yet."
    rank = {"watercolor": 0, "studio photo": 1, "pencil sketch": 2}  # the room's taste, mostly
    for n in range(20):
        for i, pair in enumerate(arena.pairs):
            best, worst = sorted((pair.left_variant, pair.right_variant), key=rank.__getitem__)
            arena.vote(pair, worst if (n + i) % 5 == 0 else best, voter=f"voter-{n}")
    rows = arena.leaderboard()
    assert [r["variant"] for r in rows] == ["watercolor", "studio photo", "pencil sketch"]
    assert all(r["strength_low"] - 1e-9 <= r["strength"] <= r["strength_high"] + 1e-9 for r in rows)
    assert rows[0]["strength_low"] > rows[2]["strength_high"]  # the intervals tell first from last
    verdict = arena.verdict()
    assert verdict.decided and verdict.winner == "watercolor"
    assert "preferred over studio photo" in verdict.text


def test_the_vote_view_and_leaderboard_follow_the_arena(client):
    arena = _arena(client)

    async def main() -> None:
        view = arena.vote_view()
        board = arena.leaderboard_view(interval=0.05)
        assert view.state == "waiting" and view.ask_voter
        view._on_front_end(view, {"type": "hello", "voter": "browser-1234"}, [])  # the page's own id
        await until(lambda: view.state == "voting", what="the first pair")
        assert view.left.startswith("data:image/jpeg;base64,") and view.right.startswith("data:image/jpeg")
        assert view.question == QUESTIONS[0] and view.case in PROMPTS and view.progress == "1 of 6"
        for _ in range(6):
            number = view.progress
            view._on_front_end(view, {"type": "vote", "choice": "right"}, [])
            await until(lambda n=number: view.progress != n or view.state == "done", what="the next pair")
        assert view.state == "done" and "judged every pair" in view.message
        await until(lambda: board.boards and board.boards[0]["votes"] == 3, timeout=2, what="the board")
        assert board.boards[1]["voters"] == 1
        assert re.fullmatch(r"Not decided yet\. (Pro|Flex) wins \d+% of 3 decisive votes \(95% anytime-valid "
                            r"interval \d+%–\d+%\); evidence [\d.]+ of 20 needed\. Keep voting\.",
                            board.boards[0]["verdict"]), board.boards[0]["verdict"]
        assert "3 pairs · 1 voter ·" in board.summary and "would have cost" in board.summary
        view.close()
        board.close()

    asyncio.run(main())
    assert len(arena.votes) == 6 and {v.voter for v in arena.votes} == {"browser-1234"}


def test_compare_until_decided_pays_only_until_the_answer_is_known(sim, client):
    import random

    rng = random.Random(7)

    def judge(cmp):  # one person who prefers Flex nine times in ten
        flex_left = cmp.cells[cmp.order[0]].side == "flex"
        return "left" if flex_left == (rng.random() < 0.9) else "right"

    decision = compare_until_decided(PROMPTS, tiers=("pro", "flex"), budget=10, client=client,
                                     judge=judge).wait(120)
    assert decision.stopped == "decided" and decision.verdict == "Flex"
    charged = sim.stats.total_charged
    assert decision.cost == pytest.approx(0.19 * len(decision.rounds)) == pytest.approx(charged)
    assert len(decision.rounds) < 40 and sim.stats.tasks_created == 2 * len(decision.rounds)
    fixed = decision.fixed_size()
    assert fixed is not None and "A fixed-size test of the same power" in decision.text
    # a room that cannot tell them apart: it stops at the budget, undecided, never over it
    tied = compare_until_decided("a mug of cocoa", tiers=("pro", "flex"), budget=0.5, client=client,
                                 judge=lambda cmp: "tie").wait(60)
    assert tied.stopped == "budget" and tied.verdict == "undecided" and tied.cost <= 0.5
    with pytest.raises(ValidationError):
        compare_until_decided("a mug", tiers=("pro",), budget=1, client=client)
    with pytest.raises(BudgetExceededError):
        compare_until_decided("a mug", tiers=("pro", "flex"), budget=0.1, client=client)


def test_ids_and_since_of_the_wrong_type_are_refused_by_name(sim, client, tmp_path, database_url):  # noqa: F811
    arena = _arena(client, name="types")
    folder = tmp_path / "results"
    votes = arena.workspace.arenas
    for call, field in ((lambda: Arena.open(10**20, folder=folder, database_url=database_url), "name"),
                        (lambda: Arena.open(None, folder=folder, database_url=database_url), "name"),
                        (lambda: arena.progress(10**20), "voter"), (lambda: arena.progress(None), "voter"),
                        (lambda: Arena.plan(PROMPTS, vary=[[]], tier=["pro", "flex"]), "vary"),
                        (lambda: Arena.create("v", PROMPTS, vary=[[]], tier=["pro", "flex"], client=client),
                         "vary"),
                        (lambda: Arena.plan(PROMPTS, vary=5, tier=["pro", "flex"]), "vary"),
                        *((lambda s=s: votes.votes(arena.name, since=s), "since")
                          for s in ("x", float("nan"), float("inf"), 10**20, -1, True, 1.5))):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field and field in str(info.value)
    arena.vote(arena.pairs[0], "left", voter="ada")
    assert [v.voter for v in votes.votes(arena.name, since=0)] == ["ada"]
    assert votes.votes(arena.name, since=votes.votes(arena.name)[-1].id) == []


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_text_no_database_keeps_is_refused_by_name_on_both(sim, client, tmp_path, database_url, bad):  # noqa: F811
    arena = _arena(client, name="texts")
    pair = arena.pairs[0]
    posts = sim.count("POST")
    for call, field in ((lambda: arena.vote(pair, "left", voter=bad), "voter"),
                        (lambda: arena.vote(pair, "left", voter="ada", note=bad), "note"),
                        (lambda: arena.vote(pair, "left", voter="ada", question=bad), "question"),
                        (lambda: arena.next_pair(bad), "voter"), (lambda: arena.progress(bad), "voter"),
                        (lambda: arena.voters(bad), "question"),
                        (lambda: arena.preview(bad, "left"), "pair_id"),
                        (lambda: Arena.open(bad, folder=tmp_path / "results", database_url=database_url),
                         "name"),
                        (lambda: Arena.create(bad, PROMPTS, tier=["pro", "flex"], client=client), "name"),
                        (lambda: Arena.create("q", PROMPTS, tier=["pro", "flex"], client=client,
                                              questions=[bad]), "questions")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field and field in str(info.value)
    assert arena.votes == [] and sim.count("POST") == posts
    assert Arena.names(folder=tmp_path / "results", database_url=database_url) == ["texts"]


def test_an_arenas_money_counts_a_billed_image_it_could_not_fetch_and_one_unsettled(sim, client, tmp_path,
                                                                                 database_url):  # noqa: F811
    """Billed, its image not fetched; its outcome unknown: in the making kernel (its runs) and in
    any other (the budget ledger, by each create's key) the arena's money says so."""
    sim.inject("malformed", on="cdn")
    sim.inject("unknown_status")
    arena = Arena.create("faults", PROMPTS[:2], tier=["pro", "flex"], client=client).wait(30)
    charged = sim.stats.total_charged
    assert charged == pytest.approx(0.38) and len(arena.pairs) < 2  # a case lost a side
    here = arena.cost_text()
    elsewhere = Arena.open("faults", folder=tmp_path / "results", database_url=database_url)
    assert elsewhere.generation is None
    for text in (here, elsewhere.cost_text()):
        assert "$0.38" in text and "may still be billed" in text, text
    assert elsewhere.cost() == pytest.approx(0.38) == arena.cost()


FINISHED_LATER = textwrap.dedent('''
    import sys, time
    from flux2_widgets import Arena, Flux2Client, PollPolicy, ResultStore
    client = Flux2Client(api_key=sys.argv[3], base_url=sys.argv[1], store=ResultStore(sys.argv[2]),
                         poll=PollPolicy(first=0.02, min_interval=0.01), simulated=False)  # LIVE
    Arena.create("cut-short", ["a red fox in fresh snow", "a teapot, watercolor"], tier=["pro", "flex"],
                 client=client)
    print("making", flush=True)
    time.sleep(60)  # killed before its images are in
''')


def _kill_mid_making(remote, folder):
    """An organiser's kernel killed once the service has made its 4 tasks, before their images."""
    proc = subprocess.Popen([sys.executable, "-c", FINISHED_LATER, remote.url, str(folder), SECRET_KEY],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "making"
    deadline = time.monotonic() + 20
    while remote.tasks_created() < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert remote.tasks_created() == 4


def test_finishing_never_resends_a_create_too_old_for_the_service_to_remember(tmp_path):
    from flux2_widgets.simulator._remote import RemoteSimulator

    folder = tmp_path / "results"
    with RemoteSimulator(latency=1.5) as remote:
        _kill_mid_making(remote, folder)
        log = folder / "runs.jsonl"
        events = [json.loads(line) for line in log.read_text().splitlines()]
        forgotten = next(e["idempotency_key"] for e in events if e["event"] == "submitted")
        aged = [{**e, "submitted_at": e["submitted_at"] - 7200} if e["event"] == "sending" else e
                for e in events if not (e["event"] == "submitted" and e["idempotency_key"] == forgotten)]
        log.write_text("".join(json.dumps(e) + "\n" for e in aged))  # its answer lost, two hours ago
        arena = Arena.open("cut-short", folder=folder)
        with Flux2Client(api_key=SECRET_KEY, base_url=remote.url, store=ResultStore(folder), poll=FAST,
                         simulated=False) as c:
            arena.finish(c).wait(30)
        [old] = [cell for cell in arena.generation.cells if cell.run.idempotency_key == forgotten]
        assert old.status == "failed" and old.money == "may still be billed"
        assert "not sent again" in old.error_text
        assert remote.tasks_created() == 4 and remote.count("POST") == 4, "nothing sent again"
        assert len(arena.pairs) == 1, "the other case's pair opens"


def test_an_arena_cut_short_by_a_kill_is_finished_without_a_second_charge(tmp_path):
    from flux2_widgets.simulator._remote import RemoteSimulator

    folder = tmp_path / "results"
    with RemoteSimulator(latency=1.5) as remote:
        _kill_mid_making(remote, folder)
        arena = Arena.open("cut-short", folder=folder)
        assert arena.pairs == [] and "may still be billed" in arena.cost_text()
        with Flux2Client(api_key=SECRET_KEY, base_url=remote.url, store=ResultStore(folder), poll=FAST,
                         simulated=False) as c:
            arena.finish(c).wait(30)
        assert len(arena.pairs) == 2 and arena.next_pair("v1") is not None
        assert remote.tasks_created() == 4, "the same tasks, none made twice"
        charged = sum(usd for _, usd in remote.charges())
        assert charged == pytest.approx(0.38) and arena.cost() == pytest.approx(charged)
        again = Arena.open("cut-short", folder=folder)
        assert again.cost_text() == "$0.38" and len(again.pairs) == 2


def test_an_image_retried_after_it_failed_counts_in_the_arenas_money_everywhere(sim, client, tmp_path,
                                                                                database_url):  # noqa: F811
    sim.inject("fail_task", times=1, message="refused by the safety checker")
    arena = Arena.create("retried", PROMPTS[:1], tier=["pro", "flex"], client=client).wait(30)
    [failed] = [c for c in arena.generation.cells if c.status == "failed"]
    assert failed.money == "not charged" and arena.generation.retry(failed) == "new"
    arena.wait(30)
    assert len(arena.pairs) == 1 and sim.stats.tasks_created == 3
    elsewhere = Arena.open("retried", folder=tmp_path / "results", database_url=database_url)
    assert elsewhere.cost() == pytest.approx(sim.stats.total_charged) == pytest.approx(arena.cost())
