"""A real process writing into one workspace, for the concurrency and kill -9 tests and
the benchmark. ``python workspace_worker.py <json>``; prints one JSON line when done.

Modes:
- ``race``: save results, vote on a comparison and in an arena, reserve budget;
- ``journal``: a client's life in a loop (log a create, its answer, save the result, cast
  a vote), resuming what the log shows unfinished first; killed at random and restarted;
- ``voter``: one person in an arena, voting on every pair (and double-clicking some),
  timing each vote it writes.
"""

from __future__ import annotations

import io
import json
import sys
import time
from typing import Any

from flux2_widgets import DuplicateVoteError, ResultStore
from flux2_widgets.catalog import ImageRequest
from flux2_widgets.errors import BudgetExceededError
from flux2_widgets.results import GeneratedImage, Generation, Task

BASE = "http://sim.invalid"


def png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), ((seed * 37) % 256, (seed * 91) % 256, 120)).save(buf, "PNG")
    return buf.getvalue()


def generation(task_id: str, prompt: str, seed: int, tier: str = "pro") -> Generation:
    request = ImageRequest(prompt, tier=tier)
    now = time.time()
    task = Task(id=task_id, action="text_to_image", status="completed", request=request,
                billed_cost=0.05, submitted_at=now - 1, observed_at=now)
    image = GeneratedImage(f"{BASE}/files/{task_id}-0.png", 0, data=png(seed))
    return Generation(task=task, request=request, images=[image], submitted_at=now - 1, completed_at=now,
                      base_url=BASE, simulated=True)


def race(args: dict[str, Any]) -> dict[str, Any]:
    store = ResultStore(args["folder"], database_url=args.get("url"))
    ws = store.workspace
    me = args["worker"]
    saved, votes, arena_votes, duplicates_refused, reserved, refused = [], 0, 0, 0, [], 0
    time.sleep(max(0.0, args.get("start_at", 0) - time.time()))  # all at once
    for j in range(args["results"]):
        task_id = f"w{me}-r{j}"
        store.save(generation(task_id, f"race {me} {j}", me * 1000 + j))
        saved.append(task_id)
    for j in range(args["votes"]):
        ws.comparisons.vote(args["comparison"], "a" if j % 2 else "b", voter=f"w{me}", note=f"{me}-{j}")
        votes += 1
    for pair in args["pairs"]:
        for attempt in range(2):  # the second is a double-click: refused
            try:
                ws.arenas.vote(args["arena"], pair, voter=args.get("voter") or f"w{me}",
                               question="Which is better?",
                               choice="left" if attempt == 0 else "right")
                arena_votes += 1
            except DuplicateVoteError:
                duplicates_refused += 1
    for j in range(args["reservations"]):
        key = f"w{me}-k{j}"
        try:
            ws.budget.reserve(key, args["amount"], scopes=("workspace",))
            ws.budget.reserve(key, args["amount"], scopes=("workspace",))  # idempotent
            reserved.append(key)
        except BudgetExceededError:
            refused += 1
    ws.close()
    return {"saved": saved, "votes": votes, "arena_votes": arena_votes,
            "duplicates_refused": duplicates_refused, "reserved": reserved, "refused": refused}


def journal(args: dict[str, Any]) -> dict[str, Any]:
    """Resume, then go on with the plan; every step is one a kill may cut short."""
    store = ResultStore(args["folder"], database_url=args.get("url"))
    ws = store.workspace
    total = args["tasks"]

    def vote(index: int) -> None:
        try:
            ws.arenas.vote(args["arena"], args["pair"], voter=f"v{index}", question="Which is better?",
                           choice="left")
        except DuplicateVoteError:
            pass

    # resume: answers for creates never answered (the service hands back the same task for
    # the same key), results for tasks never collected, votes never cast
    for entry in store.unanswered(BASE):
        index = int(entry.idempotency_key.split("-")[1])
        task = Task(id=f"task-{index}", action="text_to_image", status="pending", request=entry.request)
        store.record_submit(task, BASE, entry.idempotency_key)
    for task in store.pending(BASE):
        index = int(task.id.split("-")[1])
        store.save(generation(task.id, f"journal {index}", index))
    started = {e["idempotency_key"] for e in store.events() if e.get("event") == "sending"}
    for index in range(total):
        vote_needed = f"key-{index}" in started
        if vote_needed:
            vote(index)
            continue
        key = f"key-{index}"
        request = ImageRequest(f"journal {index}", tier="pro")
        store.record_sending(key, request, BASE, time.time())
        task = Task(id=f"task-{index}", action="text_to_image", status="pending", request=request)
        store.record_submit(task, BASE, key)
        store.save(generation(task.id, f"journal {index}", index))
        vote(index)
    return {"done": total}


def voter(args: dict[str, Any]) -> dict[str, Any]:
    import random

    from flux2_widgets import Workspace

    ws = Workspace(args["folder"], database_url=args.get("url"))
    ws.arenas.get(args["arena"])  # connected and migrated before the clock starts
    rng = random.Random(args["worker"])
    time.sleep(max(0.0, args["start_at"] - time.time()))
    timings, refused = [], 0
    me = f"voter-{args['worker']}"
    for pair in args["pairs"]:
        time.sleep(rng.uniform(0, args.get("think_s", 0.0)))
        began = time.perf_counter()
        ws.arenas.vote(args["arena"], pair, voter=me, question="Which is better?",
                       choice=rng.choice(("left", "right", "tie")))
        timings.append(time.perf_counter() - began)
        if rng.random() < 0.2:  # a double-click
            try:
                ws.arenas.vote(args["arena"], pair, voter=me, question="Which is better?", choice="left")
            except DuplicateVoteError:
                refused += 1
    ws.close()
    return {"timings": timings, "refused": refused}


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    out = {"race": race, "journal": journal, "voter": voter}[job["mode"]](job)
    print(json.dumps(out), flush=True)
