"""The workspace database at scale and under concurrency, side by side in one run.

1. Folders of 1,000, 10,000 and 50,000 results (made quickly: sidecars and run-log lines
   written directly, images hard-linked to real simulator outputs). For each: the first
   open (no database: the index is built from the sidecars and the run log), the second
   open (a new kernel, database present), History's first page, a filter, and the
   ``resume()`` scan (``store.pending/unanswered/undelivered``) and a Studio built on the
   folder (it shows what earlier sessions left), beside what the version before the
   database did (read every sidecar; parse every log line).
   Bars at 50,000 (DESIGN.md 5): first page <= 0.3 s, filter <= 50 ms, resume scan and
   Studio built <= 0.3 s.
2. 8 processes racing results, votes and reservations into one workspace, SQLite and
   PostgreSQL: lost / corrupt / duplicates / cap passed.
3. 30 voter processes x 20 votes into one arena, SQLite and PostgreSQL side by side:
   lost 0, duplicates 0, p50/p95 of one vote's write (bar p95 <= 50 ms).

    .venv/bin/python benchmarks/bench_workspace.py [--sizes 1000,10000,50000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the worker processes and the PostgreSQL fixture

import pg_cluster  # noqa: E402
from workspace_support import finish, jpeg, race_job, start_worker  # noqa: E402

from flux2_widgets import History, ResultStore, Workspace  # noqa: E402
from flux2_widgets.store import _fold_sending, _fold_submitted, _fold_undelivered  # noqa: E402
from flux2_widgets.workspace import _runlog, _workspace  # noqa: E402

PROMPTS = ("a red fox in fresh snow", "a lighthouse at dawn", "a grey heron by the river",
           "a kite over hills")


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def _new_kernel() -> None:
    """Forget what this process holds in memory about folders (as a new kernel would)."""
    for ws in list(_workspace._shared.values()):
        ws.close()
    _workspace._shared.clear()
    for index in list(_runlog._shared.values()):
        index.close()
    _runlog._shared.clear()


def _templates(folder: Path, url: str) -> list[tuple[dict[str, Any], Path]]:
    """A few real results from the simulator at ``url``: their sidecars and images."""
    from flux2_widgets import Flux2Client

    store = ResultStore(folder)
    with Flux2Client("sk-bench-000000000000", base_url=url, store=store) as client:
        for i, prompt in enumerate(PROMPTS):
            client.generate(prompt, tier=("pro", "flex")[i % 2], resolution="1k")
    out = []
    for sidecar in sorted(folder.glob("*/*.json")):
        meta = json.loads(sidecar.read_text())
        out.append((meta, sidecar.parent / meta["files"][0]))
    return out


def make_folder(root: Path, n: int, templates: list[tuple[dict[str, Any], Path]]) -> None:
    """``n`` results over 50 days, 3 run-log lines each, plus a few still open."""
    root.mkdir(parents=True)
    start = time.time() - 50 * 86400
    lines = []
    days: dict[str, Path] = {}
    for i in range(n):
        meta, image = templates[i % len(templates)]
        task_id = str(uuid.UUID(int=i + 1))
        done = start + i * (50 * 86400 / n)
        day = time.strftime("%Y-%m-%d", time.localtime(done))
        folder = days.get(day)
        if folder is None:
            folder = days[day] = root / day
            folder.mkdir()
        name = f"{task_id}-0.png"
        os.link(image, folder / name)
        prompt = f"{meta['prompt']} #{i}"
        body = {**meta, "task_id": task_id, "prompt": prompt, "files": [name], "submitted_at": done - 3,
                "completed_at": done, "request": {**meta["request"], "prompt": prompt}}
        (folder / f"{task_id}.json").write_text(json.dumps(body, indent=2))
        key = uuid.uuid4().hex
        base = meta["base_url"]
        lines += [{"at": done - 3, "event": "sending", "idempotency_key": key, "action": "text_to_image",
                   "base_url": base, "submitted_at": done - 3, "request": body["request"]},
                  {"at": done - 2, "event": "submitted", "task_id": task_id, "action": "text_to_image",
                   "base_url": base, "submitted_at": done - 3, "idempotency_key": key,
                   "request": body["request"]},
                  {"at": done, "event": "completed", "task_id": task_id, "files": [str(folder / name)],
                   "cost": body.get("cost"), "cost_source": body.get("cost_source")}]
    base = templates[0][0]["base_url"]
    for j in range(3):  # open work for resume() to find
        lines.append({"at": time.time(), "event": "submitted", "task_id": f"open-{j}",
                      "action": "text_to_image", "base_url": base, "submitted_at": time.time(),
                      "request": templates[0][0]["request"]})
        lines.append({"at": time.time(), "event": "sending", "idempotency_key": f"unanswered-{j}",
                      "action": "text_to_image", "base_url": base, "submitted_at": time.time(),
                      "request": templates[0][0]["request"]})
    with (root / "runs.jsonl").open("w") as fh:
        fh.writelines(json.dumps(line) + "\n" for line in lines)


def _old_history(root: Path) -> int:
    """What History did before the database: read and sort every sidecar."""
    metas = []
    for sidecar in root.glob("*/*.json"):
        metas.append(json.loads(sidecar.read_text()))
    metas.sort(key=lambda m: m.get("completed_at") or 0, reverse=True)
    return len(metas)


def _old_resume_scan(store: ResultStore) -> int:
    events = []
    for line in store.log_path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
    return len(_fold_submitted(events, None)) + len(_fold_undelivered(events, None)) + \
        len(_fold_sending(events, None))


def _on_postgres(root: Path, url: str) -> dict[str, float]:
    """The same folder's index on PostgreSQL: built (first open), then read."""
    _new_kernel()
    first_open, _ = _timed(lambda: History(ResultStore(root, database_url=url)).page(1))
    _new_kernel()
    history = History(ResultStore(root, database_url=url))
    second_open, _ = _timed(lambda: history.page(1))
    first_page = min(_timed(lambda: history.page(1))[0] for _ in range(5))
    where = history.where("fox", tier="pro")
    filt = min(_timed(lambda: history.page(1, where))[0] for _ in range(5))
    _new_kernel()
    return {"first_open": first_open, "second_open": second_open, "first_page": first_page, "filter": filt}


def _studio_build(root: Path, url: str) -> str:
    """A Studio on the folder's client, built in a "new kernel": what its Collect button says."""
    from flux2_widgets import Flux2Client, Studio

    with Flux2Client("sk-bench-000000000000", base_url=url, store=ResultStore(root)) as client:
        studio = Studio(client=client)
        said = studio.collect_button.description
        studio.close()
    return said


def scale(sizes: list[int], work: Path, postgres: Callable[[], str] | None) -> list[dict[str, Any]]:
    from flux2_widgets.simulator import Simulator

    sim = Simulator(latency=0.02).start()
    templates = _templates(work / "templates", sim.url)
    _studio_build(work / "empty", sim.url)  # the widget modules imported, as in a kernel that has used one
    rows = []
    for n in sizes:
        root = work / f"folder-{n}"
        made, _ = _timed(lambda r=root, k=n: make_folder(r, k, templates))
        _new_kernel()
        first_open, _ = _timed(lambda r=root: History(r).page(1))
        _new_kernel()
        second_open, history = _timed(lambda r=root: History(r))
        second_open += _timed(lambda h=history: h.page(1))[0]
        first_page = min(_timed(lambda h=history: h.page(1))[0] for _ in range(5))
        where = history.where("fox", tier="pro")
        filt = min(_timed(lambda h=history, w=where: h.page(1, w))[0] for _ in range(5))
        star_filter = min(_timed(lambda h=history, w=history.where(starred=True): h.page(1, w))[0]
                          for _ in range(3))
        _new_kernel()
        store = ResultStore(root)

        def scan(s: ResultStore = store) -> int:
            return len(s.pending()) + len(s.unanswered()) + len(s.undelivered())

        resume_new_kernel, found = _timed(scan)
        assert found == 6, found
        store.record_sending("one-more", store.unanswered()[0].request, "http://x", time.time())
        resume_after_append, _ = _timed(scan)
        _new_kernel()
        studio, said = _timed(lambda r=root: _studio_build(r, sim.url))
        old_history, _ = _timed(lambda r=root: _old_history(r))
        old_resume, _ = _timed(lambda s=store: _old_resume_scan(s))
        rows.append({"n": n, "made": made, "first_open": first_open, "second_open": second_open,
                     "first_page": first_page, "filter": filt, "star_filter": star_filter,
                     "resume": resume_new_kernel, "resume_tail": resume_after_append, "studio": studio,
                     "collect": said,
                     "old_history": old_history, "old_resume": old_resume,
                     "pg": _on_postgres(root, postgres()) if postgres else None})
        _new_kernel()
        shutil.rmtree(root)
    sim.stop()
    return rows


def race(url: str | None, work: Path) -> dict[str, Any]:
    folder = work / f"race-{uuid.uuid4().hex[:6]}"
    cap, amount = 2.00, 0.07
    ws, cmp_id, job = race_job(folder, url, results=25, votes=20, reservations=10, cap=cap, amount=amount)
    began = time.perf_counter()
    outs = [finish(p) for p in [start_worker({**job, "worker": i}) for i in range(8)]]
    wall = time.perf_counter() - began
    saved = [t for o in outs for t in o["saved"]]
    records, _ = ws.results.page(limit=1000)
    indexed = [r.task_id for r in records]
    corrupt = sum(1 for r in records if not (folder / r.files[0]).read_bytes().startswith(b"\x89PNG"))
    votes = ws.comparisons.votes(cmp_id)
    arena_votes = ws.arenas.votes("race")
    status = ws.budget.status()
    out = {"wall": wall, "lost": len(set(saved) - set(indexed)) + (sum(o["votes"] for o in outs) - len(votes))
           + (sum(o["arena_votes"] for o in outs) - len(arena_votes)),
           "corrupt": corrupt, "duplicates": (len(indexed) - len(set(indexed)))
           + (len(arena_votes) - len({(v.voter, v.pair_id) for v in arena_votes})),
           "cap_passed": int(status.reserved + status.spent > cap + 1e-9),
           "reserved": len([k for o in outs for k in o["reserved"]]), "fits": int(cap // amount)}
    ws.close()
    return out


def arena(url: str | None, work: Path, voters: int = 30, votes: int = 20,
          think: float = 0.0) -> dict[str, Any]:
    folder = work / f"arena-{uuid.uuid4().hex[:6]}"
    ws = Workspace(folder, database_url=url)
    ws.arenas.create("class", variants=["pro", "flex"])
    preview = jpeg(side=256, noise=False)
    pairs = [ws.arenas.add_pair("class", prompt=f"prompt {i}", left_variant="pro", right_variant="flex",
                                left_task_id=f"l{i}", right_task_id=f"r{i}", left_preview=preview,
                                right_preview=preview).pair_id for i in range(votes)]
    start_at = time.time() + 6.0  # every voter imported and connected before the first vote
    procs = [start_worker({"mode": "voter", "folder": str(folder), "url": url, "arena": "class",
                           "pairs": pairs, "worker": i, "start_at": start_at, "think_s": think})
             for i in range(voters)]
    outs = [finish(p) for p in procs]
    timings = sorted(t for o in outs for t in o["timings"])
    stored = ws.arenas.votes("class")
    keys = [(v.voter, v.pair_id, v.question) for v in stored]
    q = statistics.quantiles(timings, n=100)
    out = {"cast": len(timings), "stored": len(stored), "lost": len(timings) - len(stored),
           "duplicates": len(keys) - len(set(keys)), "refused": sum(o["refused"] for o in outs),
           "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "max_ms": timings[-1] * 1000}
    ws.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only", choices=("scale", "race", "arena"))
    parser.add_argument("--think", type=float, default=0.0, help="a voter's pause between votes, up to (s)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flux2-bench-ws-"))
    try:
        databases: list[tuple[str, Callable[[], str | None]]] = [("SQLite", lambda: None)]
        cluster = None
        if not args.skip_postgres:
            cluster = pg_cluster.cluster()
            print(f"(PostgreSQL cluster started in {cluster.started_in:.2f} s)")
            databases.append(("PostgreSQL", cluster.fresh_database))
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = scale(sizes, work, cluster.fresh_database if cluster else None) \
            if args.only in (None, "scale") else []
        print("\n1. History and resume() over a folder (seconds; 'before' = the version without a database)")
        head = (f"{'results':>8} {'1st open':>9} {'2nd open':>9} {'1st page':>9} {'filter':>8} "
                f"{'starred':>8} {'resume':>8} {'+append':>8} {'Studio':>8} | {'before: History':>15} "
                f"{'before: resume':>14}")
        print(head)
        for r in rows:
            print(f"{r['n']:>8,} {r['first_open']:>9.3f} {r['second_open']:>9.3f} {r['first_page']:>9.4f} "
                  f"{r['filter']:>8.4f} {r['star_filter']:>8.4f} {r['resume']:>8.4f} "
                  f"{r['resume_tail']:>8.4f} {r['studio']:>8.4f} | "
                  f"{r['old_history']:>15.3f} {r['old_resume']:>14.3f}")
        big = rows[-1] if rows else None
        if big:
            print(f"bars at {big['n']:,}: first page {big['second_open']:.3f} s (new kernel, <= 0.3), "
                  f"filter {big['filter'] * 1000:.1f} ms (<= 50), resume scan {big['resume']:.3f} s "
                  f"(new kernel, <= 0.3), a Studio built {big['studio']:.3f} s (new kernel, <= 0.3; "
                  f"it says {big['collect']!r})")
        if rows and rows[0]["pg"]:
            print("\n   the same index on PostgreSQL (the run log and resume() stay local)")
            print(f"{'results':>8} {'1st open':>9} {'2nd open':>9} {'1st page':>9} {'filter':>8}")
            for r in rows:
                pg = r["pg"]
                print(f"{r['n']:>8,} {pg['first_open']:>9.3f} {pg['second_open']:>9.3f} "
                      f"{pg['first_page']:>9.4f} {pg['filter']:>8.4f}")
        if args.only in (None, "race"):
            print("\n2. 8 processes racing: 25 results, 20 comparison votes, 10 arena votes (5 "
                  "double-clicked) and 10 reservations each")
            print(f"{'database':11} {'wall s':>7} {'lost':>5} {'corrupt':>8} {'duplicates':>11} "
                  f"{'cap passed':>11} {'reserved/fits':>14}")
            for name, url in databases:
                r = race(url(), work)
                print(f"{name:11} {r['wall']:>7.2f} {r['lost']:>5} {r['corrupt']:>8} {r['duplicates']:>11} "
                      f"{r['cap_passed']:>11} {r['reserved']:>7}/{r['fits']:<6}")
        if args.only in (None, "arena"):
            for think in sorted({0.0, args.think}):
                pace = f"each pausing up to {think:g} s between votes" if think else "all at once, no pause"
                print(f"\n3. 30 voter processes x 20 votes into one arena, {pace}")
                print(f"{'database':11} {'cast':>5} {'stored':>7} {'lost':>5} {'duplicates':>11} "
                      f"{'refused':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
                for name, url in databases:
                    r = arena(url(), work, think=think)
                    print(f"{name:11} {r['cast']:>5} {r['stored']:>7} {r['lost']:>5} {r['duplicates']:>11} "
                          f"{r['refused']:>8} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['max_ms']:>7.1f}")
    finally:
        _new_kernel()
        pg_cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
