"""The workspace survives what happens to files and processes: a damaged database (garbage,
truncated) is moved aside and rebuilt, a missing one rebuilt, a folder from before the
database opened with nothing lost, processes killed with SIGKILL mid-save and mid-vote
lose and duplicate nothing; and a database URL's password shows up nowhere."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import time
from pathlib import Path

import pytest
from conftest import SECRET_KEY
from workspace_support import database_url, finish, jpeg, postgres_url, start_worker
from workspace_worker import BASE, generation

from flux2_widgets import History, ResultStore, ValidationError, Workspace, WorkspaceError
from flux2_widgets.client import Flux2Client, PollPolicy
from flux2_widgets.workspace import redact_url

__all__ = ["database_url"]
FAST = PollPolicy(first=0.05, min_interval=0.02)


def _folder_with_results(root: Path, n: int = 12) -> ResultStore:
    store = ResultStore(root)
    for i in range(n):
        store.save(generation(f"task-{i:03d}", f"prompt number {i}", i, tier=("pro", "flex")[i % 2]))
    return store


def _ids(root: Path) -> list[str]:
    return sorted(e.task_id for e in History(root))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_moved_aside_and_rebuilt(tmp_path, damage, caplog) -> None:
    root = tmp_path / "results"
    store = _folder_with_results(root, 300)
    ws = store.workspace
    ws.results.star("task-007")
    ws.comparisons.create(kind="prompts", title="kept?", row_labels=[""], col_labels=["A", "B"], id="c1")
    ws.close()  # the last connection closed: the WAL is checkpointed into the file
    db = root / "workspace.db"
    size = db.stat().st_size
    if damage == "garbage":
        db.write_bytes(os.urandom(size))
    else:
        with db.open("r+b") as fh:
            fh.truncate(size // 3)
    Workspace.shared(root).close()
    from flux2_widgets.workspace import _workspace

    _workspace._shared.clear()  # as in a new kernel
    with caplog.at_level(logging.WARNING, logger="flux2_widgets"):
        assert _ids(root) == [f"task-{i:03d}" for i in range(300)], "nothing lost"
    aside = [p for p in root.iterdir() if p.name.startswith("workspace.db.damaged-")
             and not p.name.endswith(("-wal", "-shm"))]
    assert aside and aside[0].stat().st_size > 0, "moved aside, never deleted"
    assert "damaged" in caplog.text and aside[0].name in caplog.text
    assert History(root).count() == 300


def _arena_with_votes(root: Path, n: int) -> None:
    ws = Workspace(root)
    ws.arenas.create("room", variants=["pro", "flex"])
    pair = ws.arenas.add_pair("room", prompt="p", left_variant="pro", right_variant="flex", left_task_id="l",
                              right_task_id="r", left_preview=jpeg(), right_preview=jpeg()).pair_id
    for i in range(n):
        ws.arenas.vote("room", pair, voter=f"v{i}", question="Which is better?", choice="left")
    ws.close()


def test_a_checkpoint_cut_short_is_not_damage(tmp_path) -> None:
    """Killed mid-checkpoint, the file's first page (written first) counts pages not yet
    copied from the WAL. The WAL still holds them: nothing is moved aside, no vote is lost."""
    live, after_kill = tmp_path / "live", tmp_path / "after-kill"
    _arena_with_votes(live, 50)
    import shutil
    import sqlite3

    conn = sqlite3.connect(live / "workspace.db", isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE filler (x BLOB)")
    conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(3000),) for _ in range(300)])
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    after_kill.mkdir()
    for name in ("workspace.db", "workspace.db-wal"):  # the files as a kill -9 leaves them
        shutil.copy(live / name, after_kill / name)
    conn.close()
    db = after_kill / "workspace.db"
    head = bytearray(db.read_bytes()[:100])
    assert db.stat().st_size < pages * int.from_bytes(head[16:18], "big")
    head[28:32] = pages.to_bytes(4, "big")  # page 1 already copied, the rest not yet
    with db.open("r+b") as fh:
        fh.write(head)
    ws = Workspace(after_kill)
    assert len(ws.arenas.votes("room")) == 50
    assert not [p for p in after_kill.iterdir() if ".damaged-" in p.name], "healthy: nothing moved aside"
    ws.close()


def test_killed_while_rebuilding_a_damaged_database_the_next_one_starts_again(tmp_path, monkeypatch) -> None:
    """The replacement is built under another name and renamed into place: a process killed
    before the rename leaves the damaged file where it was, and the next one rebuilds it."""
    root = tmp_path / "results"
    _folder_with_results(root, 20)
    Workspace.shared(root).close()
    db = root / "workspace.db"
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    damaged_bytes = db.read_bytes()
    from flux2_widgets.workspace import _sqlite, _workspace

    class Killed(BaseException):
        pass

    def killed(*args: object) -> None:
        raise Killed  # as a kill -9 just before the rename

    _workspace._shared.clear()
    monkeypatch.setattr(_sqlite.os, "replace", killed)
    with pytest.raises(Killed):
        Workspace(root).results.page()
    assert db.read_bytes() == damaged_bytes, "still in place, untouched"
    assert list(root.glob("workspace.db.rebuilding-*")), "the half-done rebuild is beside it"
    monkeypatch.undo()
    _workspace._shared.clear()
    assert _ids(root) == [f"task-{i:03d}" for i in range(20)], "rebuilt whole by the next process"
    assert not list(root.glob("workspace.db.rebuilding-*")), "the dead rebuild cleared away"
    kept = [p for p in root.iterdir() if ".damaged-" in p.name and not p.name.endswith("-wal")]
    assert kept and all(p.read_bytes() == damaged_bytes for p in kept), "kept, never deleted"


def test_a_missing_database_is_rebuilt_from_the_sidecars_and_the_run_log(tmp_path) -> None:
    root = tmp_path / "results"
    _folder_with_results(root, 5)
    for name in ("workspace.db", "workspace.db-wal", "workspace.db-shm"):
        (root / name).unlink(missing_ok=True)
    from flux2_widgets.workspace import _workspace

    _workspace._shared.clear()
    assert _ids(root) == [f"task-{i:03d}" for i in range(5)]
    # a result saved while the database was unusable is indexed from the run log
    store = ResultStore(root)
    store._index_down_until = time.monotonic() + 60  # as after a failure
    store.save(generation("late", "saved while the database was down", 99))
    history = History(root)
    assert "late" in _ids(root) and history["late"].prompt == "saved while the database was down"


def test_a_folder_from_before_the_database_opens_with_nothing_lost(tmp_path, sim) -> None:
    """Made as today's version makes it (a client and the simulator: images, sidecars, a
    run log with an unanswered create and a pending task), with no database files."""
    root = tmp_path / "results"
    store = ResultStore(root)
    with Flux2Client(api_key=SECRET_KEY, base_url=sim.url, poll=FAST, store=store) as client:
        gens = [client.generate(p, tier=t) for p, t in (("a red fox", "pro"), ("a blue kite", "flex"),
                                                        ("a lighthouse at dawn", "pro"))]
        pending = client.submit("still running", tier="pro")
    from flux2_widgets import ImageRequest

    store.record_sending("lost-key", ImageRequest("never answered"), sim.url, time.time())
    for path in list(root.iterdir()):
        if path.name.startswith(("workspace.db", "runs-index.db")):
            path.unlink()
    from flux2_widgets.workspace import _runlog, _workspace

    _workspace._shared.clear()
    _runlog._shared.clear()
    fresh = ResultStore(root)
    assert [t.id for t in fresh.pending(sim.url)] == [pending.id]
    assert [u.idempotency_key for u in fresh.unanswered(sim.url)] == ["lost-key"]
    history = History(root)
    assert [e.task_id for e in history] == [g.id for g in reversed(gens)]
    assert history[gens[0].id].generation().image.data == gens[0].image.data
    assert not (root / "workspace.db").exists() or (root / "workspace.db").stat().st_size > 0


# -- kill -9 ------------------------------------------------------------------------------
def test_processes_killed_mid_save_and_mid_vote_lose_and_duplicate_nothing(tmp_path, database_url) -> None:
    root = tmp_path / "results"
    ws = Workspace(root, database_url=database_url)
    ws.arenas.create("kill", variants=["pro", "flex"])
    pair = ws.arenas.add_pair("kill", prompt="p0", left_variant="pro", right_variant="flex", left_task_id="l",
                              right_task_id="r", left_preview=jpeg(), right_preview=jpeg()).pair_id
    tasks = 600 if database_url is None else 250  # ms each: seconds of work, killed many times on the way
    job = {"mode": "journal", "folder": str(root), "url": database_url, "tasks": tasks, "arena": "kill",
           "pair": pair}
    rng = random.Random(7)
    kills = 0
    log = root / "runs.jsonl"
    for _ in range(60):  # until one runs to the end
        proc = start_worker(job)
        # killed once the log has grown by a random amount: at any point of a task's cycle
        # (sending, answer, images, sidecar, index row, "completed", vote), however fast it runs
        grown = (log.stat().st_size if log.exists() else 0) + rng.randrange(10_000, 60_000)
        while proc.poll() is None and (log.stat().st_size if log.exists() else 0) < grown:
            time.sleep(0.001)
        if proc.poll() is not None:
            break
        os.kill(proc.pid, signal.SIGKILL)
        kills += 1
        proc.communicate()
    finish(start_worker(job))
    assert kills >= 5, "the test must actually kill workers mid-run"
    store = ResultStore(root, database_url=database_url)
    assert store.pending(BASE) == [] and store.unanswered(BASE) == []
    events = store.events()
    completed = [e["task_id"] for e in events if e.get("event") == "completed"]
    assert sorted(completed) == sorted(f"task-{i}" for i in range(tasks)), "each collected once"
    sidecars = sorted(p.stem for p in root.glob("*/*.json"))
    assert sidecars == sorted(f"task-{i}" for i in range(tasks))
    page, total = store.workspace.results.page(limit=500)
    assert total == tasks and all((root / r.files[0]).read_bytes().startswith(b"\x89PNG") for r in page)
    votes = store.workspace.arenas.votes("kill")
    assert sorted(v.voter for v in votes) == sorted(f"v{i}" for i in range(tasks)), "0 lost, 0 twice"
    assert History(root).count() == tasks


# -- the password of a database URL ---------------------------------------------------------
def test_a_database_urls_password_appears_nowhere(tmp_path, caplog) -> None:
    import pg_cluster

    url = postgres_url()
    password = pg_cluster.PASSWORD
    root = tmp_path / "results"
    with caplog.at_level(logging.DEBUG, logger="flux2_widgets"):
        store = ResultStore(root, database_url=url)
        store.save(generation("t1", "a fox in the snow", 1))
        ws = store.workspace
        shown = [repr(ws), str(ws.url), repr(ws.url), ws.database, repr(ws.backend), repr(History(store))]
        assert all(password not in s and "<redacted>" in s for s in shown[:4]), shown
        history = History(store)
        shown.append(json.dumps(history.rows()))
        view = history.view()
        deadline = time.monotonic() + 10
        while view.page is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert view.page is not None and view.page.total == 1
        shown.append(json.dumps([w.get_state() for w in [view, *view.children, *view.cards]], default=str))
        # unreachable server, wrong password, bad URL: the errors do not carry it either
        dead = url.replace(str(pg_cluster.cluster().port), "1")
        for bad in (dead, url.replace(password, password + "x")):
            with pytest.raises(WorkspaceError) as info:
                Workspace(tmp_path / "other", database_url=bad).budget.status()
            shown += [str(info.value), repr(info.value)]
        with pytest.raises(ValidationError) as bad_url:
            Workspace(tmp_path, database_url=f"mysql://flux2:{password}@127.0.0.1/x")
        shown += [str(bad_url.value), repr(bad_url.value.value)]
        # libpq's other spelling: a Unix socket (no host in the URL), the password a parameter
        cluster = pg_cluster.cluster()
        socket_url = (f"postgresql:///{url.rsplit('/', 1)[1]}?host={cluster.folder}&port={cluster.port}"
                      f"&user={pg_cluster.USER}&password={password}")
        # and libpq's keyword/value form
        keywords = (f"host={cluster.folder} port={cluster.port} dbname={url.rsplit('/', 1)[1]} "
                    f"user={pg_cluster.USER} password={password}")
        for i, spelled in enumerate((socket_url, keywords)):
            ws_other = Workspace(tmp_path / f"spelled-{i}", database_url=spelled)
            assert ws_other.budget.status().spent == 0.0, "it connects"
            shown += [repr(ws_other), ws_other.database, str(ws_other.url)]
            assert "password=<redacted>" in ws_other.database
            ws_other.close()
        for bad, error in ((socket_url.replace(f"port={cluster.port}", "port=1"), WorkspaceError),
                           (keywords + " nonsense=1", ValidationError),
                           (keywords.replace(f"port={cluster.port}", "port=1"), WorkspaceError)):
            with pytest.raises(error) as info:
                Workspace(tmp_path / "bad-spelling", database_url=bad).budget.status()
            shown += [str(info.value), repr(info.value), repr(getattr(info.value, "value", ""))]
    shown.append(caplog.text)
    for text in shown:
        assert password not in text
    for path in root.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    assert redact_url(f"failed: {url}") == f"failed: {url.replace(password, '<redacted>')}"
    ws.close()
