"""Shared by the workspace tests: the database parameter (SQLite, PostgreSQL), worker
processes, and small images."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pg_cluster
import pytest
from conftest import ROOT, in_ci

WORKER = Path(__file__).with_name("workspace_worker.py")


def postgres_url() -> str:
    """A fresh database on the session's cluster; fails under CI when there is none, skips
    elsewhere (with the reason)."""
    try:
        cluster = pg_cluster.cluster()
    except RuntimeError as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(str(exc))
    return cluster.fresh_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (the SQLite file in the folder) or a PostgreSQL URL with a password."""
    return None if request.param == "sqlite" else postgres_url()


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(Path(__file__).parent), out.get("PYTHONPATH", "")])
    return out


def start_worker(job: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), json.dumps(job)], env=env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def jpeg(color: tuple[int, int, int] = (200, 80, 40), side: int = 96, noise: bool = False) -> bytes:
    """A small JPEG (``noise``: random pixels, which do not compress: a big one)."""
    from PIL import Image

    buf = io.BytesIO()
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)) if noise else \
        Image.new("RGB", (side, side), color)
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def race_job(folder: Path, url: str | None, *, results: int, votes: int, reservations: int,
             cap: float, amount: float = 0.07) -> tuple[Any, str, dict[str, Any]]:
    """A workspace set up for the 8-process race (a comparison, an arena of 5 pairs, a folder
    cap) and the ``race`` job its workers run: ``(workspace, comparison id, job)``."""
    from flux2_widgets import Workspace

    ws = Workspace(folder, database_url=url)
    cmp = ws.comparisons.create(kind="prompts", title="race", row_labels=[""], col_labels=["A", "B"],
                                sides=[("a", "A"), ("b", "B")])
    ws.arenas.create("race", variants=["pro", "flex"])
    pairs = [ws.arenas.add_pair("race", prompt=f"p{i}", left_variant="pro", right_variant="flex",
                                left_task_id=f"l{i}", right_task_id=f"r{i}", left_preview=jpeg(),
                                right_preview=jpeg()).pair_id for i in range(5)]
    ws.budget.set_cap("workspace", total=cap)
    job = {"mode": "race", "folder": str(folder), "url": url, "results": results, "votes": votes,
           "comparison": cmp.id, "arena": "race", "pairs": pairs, "reservations": reservations,
           "amount": amount}
    return ws, cmp.id, job
