"""Comparisons and votes outlive the kernel: saved to the workspace as they run and as they are
cast, listed by ``History().comparisons`` (each a Comparison again, with its images and votes),
tallied across sessions by ``tally_votes(History())``; a kernel killed mid-vote loses no vote
whose ``vote()`` had returned, and records none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import SECRET_KEY

from flux2_widgets import (
    Flux2Client,
    History,
    PollPolicy,
    ResultStore,
    compare_prompts,
    compare_tiers,
    tally_votes,
)

FAST = PollPolicy(first=0.05, min_interval=0.02)


def test_a_comparison_and_its_votes_come_back_after_a_restart(sim, tmp_path):
    store = ResultStore(tmp_path / "results")
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store, poll=FAST) as client:
        ab = compare_prompts("a teapot, watercolor", "a teapot, pencil sketch", client=client).wait(10)
        ab.vote("a", note="softer light")
        ab.vote("tie")
        tiers = compare_tiers("a red fox in fresh snow", client=client, blind=True, seed=3).wait(10)
        tiers.vote("left")
    # a new kernel: nothing but the folder
    history = History(store.root)
    saved = history.comparisons
    assert len(saved) == 2 and saved.records[0].id == tiers.id  # newest first
    again = saved.find(ab.id)
    assert again.kind == "prompts" and [c.col_label for c in again.cells] == ["A", "B"]
    assert all(c.ok for c in again.cells)  # its images, read back from the folder
    assert again.cells[0].result.images[0].data == ab.cells[0].result.images[0].data
    assert [(v["choice"], v["note"]) for v in again.votes] == [("a", "softer light"), ("tie", "")]
    assert again.tally() == {"a": 1, "b": 0, "tie": 1}
    blind = saved.find(tiers.id)
    assert blind.blind and blind.order == tiers.order and blind.votes[0]["blind"]
    assert blind.votes[0]["shown_as"] == "left"
    # it takes more votes, saved to the same record
    again.vote("b", voter="ada")
    assert [v["choice"] for v in History(store.root).comparisons.find(ab.id).votes] == ["a", "tie", "b"]
    # tallied across every session in the folder: three prompt votes, one tier vote
    tally = tally_votes(History(store.root))
    assert tally.votes == 4 and tally.comparisons == 2
    assert tally["Pro"]["trials"] + tally["Flex"]["trials"] == 2
    assert tally_votes([ab]).votes == 2  # a list of comparisons still works


KILLED = textwrap.dedent('''
    import sys
    from flux2_widgets import Flux2Client, PollPolicy, ResultStore, compare_prompts
    store = ResultStore(sys.argv[2])
    with Flux2Client(api_key="sk-killed", base_url=sys.argv[1], store=store,
                     poll=PollPolicy(first=0.05, min_interval=0.02)) as client:
        cmp = compare_prompts("a koi pond in autumn", "a koi pond in winter", client=client).wait(10)
        print("id", cmp.id, flush=True)
        for i in range(10_000):
            cmp.vote("ab"[i % 2], note=f"vote {i}")
            print("voted", i, flush=True)
''')


def test_a_kernel_killed_mid_vote_keeps_every_vote_it_cast(sim, tmp_path):
    folder = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, sim.url, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    cmp_id, cast = "", -1
    deadline = time.monotonic() + 60
    while cast < 40:
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, "the voting kernel stopped early"
        word, value = line.split()
        if word == "id":
            cmp_id = value
        else:
            cast = int(value)
    os.kill(proc.pid, signal.SIGKILL)  # mid-vote: it was casting the next one
    proc.wait(10)
    votes = History(folder).comparisons.find(cmp_id).votes
    notes = [v["note"] for v in votes]
    assert len(notes) == len(set(notes)), "a vote recorded twice"
    # every vote whose vote() returned is there; at most the one in flight beyond
    assert [f"vote {i}" for i in range(cast + 1)] == notes[: cast + 1]
    assert len(notes) <= cast + 2


@pytest.mark.parametrize("bad", [{"voter": 3}, {"question": ["q"]}, {"note": b"x"}])
def test_a_vote_with_a_wrong_type_is_refused_by_name(sim, tmp_path, bad):
    from flux2_widgets import ValidationError

    store = ResultStore(tmp_path / "results")
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, store=store, poll=FAST) as client:
        ab = compare_prompts("a mug of cocoa", "a mug of tea", client=client).wait(10)
        with pytest.raises(ValidationError) as info:
            ab.vote("a", **bad)
        assert info.value.field == next(iter(bad))
    assert History(store.root).comparisons.find(ab.id).votes == []
