"""`make demo` opens the quickstart notebook itself, not the Launcher.

The command comes from the Makefile (``make -n demo``), run as written but on a free port,
with a sandboxed configuration and no browser of its own: the URL it prints (the one a
person clicks) must open the quickstart.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import _PANEL_JS, KERNEL_TIMEOUT, ROOT, free_port, kernel_env, screenshot
from .conftest import unavailable

pytestmark = pytest.mark.browser


def _demo_command() -> list[str]:
    make = shutil.which("make")
    if make is None:
        unavailable("make is not installed")
    dry = subprocess.run([make, "-n", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    text = dry.stdout.replace("\\\n", " ")
    line = next((ln for ln in text.splitlines() if "jupyter lab" in ln), None)
    assert line is not None, f"`make -n demo` runs no `jupyter lab`:\n{dry.stdout}{dry.stderr}"
    args = shlex.split(line)
    return args[args.index("lab") + 1:]


def test_make_demo_opens_the_quickstart(page: Any, tmp_path: Path, output_dir: Path) -> None:
    args = _demo_command()
    # A copy of what the demo serves: opening the notebook must not touch the repository.
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "notebooks", work / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    sandbox = tmp_path / "sandbox"
    for sub in ("runtime", "config", "ipython", "workspaces", "settings"):
        (sandbox / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [re.sub(r"^--port=\d+$", f"--port={port}", a) for a in args]
    cmd = [sys.executable, "-m", "jupyterlab", *args, "--no-browser", "--ServerApp.port_retries=0",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--ServerApp.allow_root=True",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={sandbox / 'workspaces'}",
           f"--LabApp.user_settings_dir={sandbox / 'settings'}"]
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=work, env=kernel_env(sandbox=sandbox), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(rf"http://127\.0\.0\.1:{port}/\S+", log.read_text(errors="replace"))
            url = found.group(0) if found else None
            time.sleep(0.2)
        assert url is not None, f"the demo server printed no URL:\n{log.read_text(errors='replace')[-2000:]}"
        assert "/lab/tree/notebooks/01_quickstart.ipynb?token=" in url, url
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function(f"(path) => !!({_PANEL_JS})(path)", arg="notebooks/01_quickstart.ipynb",
                               timeout=KERNEL_TIMEOUT * 1000)
        page.get_by_role("heading", name="Flux 2 in Jupyter: quickstart").first.wait_for(state="visible")
        current = page.evaluate("() => window.jupyterapp.shell.currentWidget.title.label")
        assert current == "01_quickstart.ipynb"
        screenshot(page, output_dir, "make-demo")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
