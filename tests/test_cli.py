"""The ``flux2-widgets`` command line: in-process through ``main([...])`` and, to
prove the console script is wired up, as real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import SECRET_KEY
from PIL import Image

from flux2_widgets.catalog import (
    PRICES,
    RESOLUTIONS,
    TIER_INFO,
    estimate_cost,
    pixel_size,
    price,
)
from flux2_widgets.cli import main
from flux2_widgets.money import format_usd
from flux2_widgets.workspace import Workspace

SCRIPT = Path(sys.executable).with_name("flux2-widgets")
PROGRESS = re.compile(r"^task \S+ (pending|processing|completed) \d+\.\d+s$", re.M)


@pytest.fixture
def fast_sim(make_sim, monkeypatch):
    """A simulator the default client finds through RUNAPI_BASE_URL (and no key)."""
    sim = make_sim(latency=0.1)
    monkeypatch.setenv("RUNAPI_BASE_URL", sim.url)
    return sim


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); argparse's usage errors exit through SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNAPI_API_KEY", "RUNAPI_BASE_URL")}
    return {**env, **extra}


def assert_png(path: Path, size: tuple[int, int] | None) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(data)).size == size


# ----------------------------------------------------------------------------- costs


def test_costs_text_shows_every_catalog_price(capsys):
    code, out, err = run_cli(capsys, "costs")
    assert code == 0 and err == ""
    for (tier, res), unit in PRICES.items():
        line = next(ln for ln in out.splitlines()
                    if ln.split()[:2] == [TIER_INFO[tier].label, res])
        assert format_usd(unit) in line  # "n/a" for the unpublished Max price
    priced = sum(v for v in PRICES.values() if v is not None)
    total = next(ln for ln in out.splitlines() if ln.startswith("total"))
    assert format_usd(priced) in total
    # the title counts the rows it lists: the five that exist; Max 2k is a note, not a row
    assert f"Cost plan: {len(PRICES)} combinations x 1 image" in out
    assert sum(ln.split()[:1] in (["Pro"], ["Flex"], ["Max"]) for ln in out.splitlines()) == len(PRICES)
    assert "Max · 2k is not offered (Max: 1k only)" in out


def test_costs_csv_and_json_carry_raw_catalog_numbers(capsys):
    code, out, _ = run_cli(capsys, "costs", "--tiers", "pro,flex", "--resolutions", "1k,2k",
                           "--images", "3", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["tier"], r["resolution"]) for r in rows] == [
        (TIER_INFO[t].label, r) for t in ("pro", "flex") for r in RESOLUTIONS]
    for row, (t, r) in zip(rows, [(t, r) for t in ("pro", "flex") for r in RESOLUTIONS], strict=True):
        assert float(row["unit_price"]) == price(t, r)
        assert float(row["estimated_cost"]) == pytest.approx(estimate_cost(t, r, 3))

    code, out, _ = run_cli(capsys, "costs", "--tiers", "flex", "--resolutions", "2k", "--json")
    data = json.loads(out)
    assert data["rows"][0]["unit_price"] == price("flex", "2k")
    assert data["totals"]["estimated_cost"] == pytest.approx(price("flex", "2k"))


@pytest.mark.parametrize(("argv", "expected"), [
    (["costs", "--tiers", "pro,ultra"], "unknown tier 'ultra'; use one of: pro, flex, max"),
    (["costs", "--images", "0"], "must be from 1 to 10,000"),
    (["costs", "--csv", "--json"], "not allowed with argument"),
    (["costs", "--tiers", ","], "tier"),  # an empty list is not the default list
    (["compare", "a red fox in fresh snow", "--tiers", ","], "tier"),  # nothing sent, nothing paid
])
def test_costs_bad_arguments_exit_2(capsys, argv, expected):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert expected in err


def test_console_script_runs_as_a_real_process():
    assert SCRIPT.exists(), f"console script missing: {SCRIPT}"
    done = subprocess.run([str(SCRIPT), "costs"], capture_output=True, text=True, timeout=30,
                          env=subprocess_env())
    assert done.returncode == 0, done.stderr
    assert format_usd(price("flex", "2k")) in done.stdout
    usage = subprocess.run([str(SCRIPT), "generate"], capture_output=True, text=True, timeout=30,
                           env=subprocess_env())
    assert usage.returncode == 2 and "prompt" in usage.stderr


# ----------------------------------------------------------------------------- generate


def test_generate_saves_images_sidecars_and_run_log(fast_sim, capsys, tmp_path):
    out_dir = tmp_path / "results"
    code, out, err = run_cli(capsys, "generate", "a lighthouse at dawn", "--tier", "flex",
                             "--aspect-ratio", "16:9", "--count", "2", "--out", str(out_dir))
    assert code == 0, err
    paths = [Path(line) for line in out.splitlines()]
    assert len(paths) == 2 and len(set(paths)) == 2
    for path in paths:
        assert path.is_relative_to(out_dir)
        assert_png(path, pixel_size("16:9", "1k"))
        task_id = path.stem.rsplit("-", 1)[0]
        sidecar = json.loads(path.with_name(f"{task_id}.json").read_text())
        assert sidecar["files"] == [path.name]
        assert sidecar["request"]["model"] == "flux-2-flex-text-to-image"
        assert sidecar["cost"] == pytest.approx(price("flex", "1k"))
    events = [json.loads(line) for line in (out_dir / "runs.jsonl").read_text().splitlines()]
    assert sorted(e["event"] for e in events) == ["completed", "completed", "sending", "sending",
                                                  "submitted", "submitted"]
    # progress on stderr: one line per status change, then one per saved image
    assert "using the simulator (no API key)" in err
    assert len(PROGRESS.findall(err)) >= 4  # at least pending + completed per task
    saved = re.findall(r"^saved (\S+) \((\d+)x(\d+), would have cost (\$[\d.]+), \d+\.\d+s\)$", err, re.M)
    assert {Path(s[0]) for s in saved} == set(paths)
    assert all(s[3] == format_usd(price("flex", "1k")) for s in saved)
    assert fast_sim.count("POST") == 2
    assert fast_sim.stats.total_charged == pytest.approx(2 * price("flex", "1k"))


def test_generate_remix_json(fast_sim, capsys, tmp_path):
    code, out, err = run_cli(capsys, "generate", "make it autumn", "--source", "https://example.com/a.png",
                             "--source", "https://example.com/b.png", "--resolution", "2k", "--json",
                             "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    assert PROGRESS.search(err) is None  # --quiet
    data = json.loads(out)
    assert data["simulated"] is True
    (result,) = data["results"]
    assert result["action"] == "remix_image"
    assert (result["width"], result["height"]) == pixel_size("1:1", "2k")
    assert result["cost"] == pytest.approx(price("pro", "2k"))
    assert_png(Path(result["files"][0]), pixel_size("1:1", "2k"))
    assert result["task_id"] in fast_sim.tasks
    assert fast_sim.count("POST", "/api/v1/flux_2/remix_image") == 1


@pytest.mark.parametrize(("argv", "expected"), [
    (["--tier", "ultra"], "invalid choice: 'ultra'"),
    (["--aspect-ratio", "5:4"], "invalid choice: '5:4'"),
    (["--count", "0"], "must be from 1 to 64"),
    (["--budget", "-1"], "'-1' must be >= 0"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_generate_usage_errors_exit_2_and_send_nothing(fast_sim, capsys, tmp_path, argv, expected):
    out_dir = tmp_path / "never"
    code, out, err = run_cli(capsys, "generate", "a red fox in snow", "--out", str(out_dir), *argv)
    assert code == 2 and out == ""
    assert expected in err and "usage: flux2-widgets generate" in err
    assert fast_sim.count() == 0 and not out_dir.exists()


@pytest.mark.parametrize(("prompt", "argv", "expected"), [
    ("ab", [], "prompt must be 3-5000 characters"),
    ("a red fox", ["--tier", "max", "--resolution", "2k"], "not available for Max; use 1k"),
    ("a red fox", ["--tier", "flex", "--count", "3", "--budget", "0.30"], "over the budget of $0.30"),
    ("a red fox", ["--aspect-ratio", "auto"], "only works for remix"),
    ("a red fox", ["--source", "ftp://x/y.png"], "not a public http(s) URL"),
])
def test_generate_invalid_requests_exit_2_and_send_nothing(fast_sim, capsys, tmp_path, prompt, argv,
                                                           expected):
    out_dir = tmp_path / "never"
    code, out, err = run_cli(capsys, "generate", prompt, "--out", str(out_dir), *argv)
    assert code == 2
    assert err.startswith("error: ") and expected in err
    assert out == ""
    assert fast_sim.count() == 0 and not out_dir.exists()


def test_generate_unwritable_out_exits_2_before_any_request(fast_sim, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "generate", "a red fox", "--out", str(blocker / "sub"))
    assert code == 2 and "pick another with --out" in err
    assert fast_sim.count() == 0


def test_failed_task_exits_1_and_the_others_are_saved(fast_sim, capsys, tmp_path):
    fast_sim.inject("fail_task", times=1)
    code, out, err = run_cli(capsys, "generate", "a red fox", "--count", "2", "--out", str(tmp_path))
    assert code == 1
    assert re.search(r"^error: task \S+ failed", err, re.M)
    assert len(out.splitlines()) == 1 and Path(out.strip()).exists()


def test_api_error_exits_1_and_the_key_never_shows(make_sim, capsys, tmp_path, monkeypatch):
    sim = make_sim(latency=0.1, api_key="the-only-token-it-takes")  # our key gets a 401
    monkeypatch.setenv("RUNAPI_BASE_URL", sim.url)
    monkeypatch.setenv("RUNAPI_API_KEY", SECRET_KEY)
    code, out, err = run_cli(capsys, "generate", "a red fox", "--out", str(tmp_path), "--json")
    assert code == 1
    assert re.search(r"^error: .*status 401", err, re.M), err
    assert "using the simulator (no API key)" not in err
    assert SECRET_KEY not in out + err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes()


def test_no_key_for_a_remote_url_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNAPI_BASE_URL", "https://runapi.invalid")
    code, _, err = run_cli(capsys, "generate", "a red fox", "--out", str(tmp_path))
    assert code == 1 and "RUNAPI_API_KEY" in err


def test_simulate_flag_ignores_the_configured_key(fast_sim, capsys, tmp_path, monkeypatch):
    from flux2_widgets.client._embedded import shared_simulator

    monkeypatch.setenv("RUNAPI_API_KEY", SECRET_KEY)
    shared = shared_simulator()
    before = shared.count("POST")
    code, out, err = run_cli(capsys, "generate", "a red fox", "--simulate", "--out", str(tmp_path))
    assert code == 0, err
    assert "using the simulator (--simulate)" in err
    assert fast_sim.count() == 0  # the configured endpoint got nothing
    assert shared.count("POST") == before + 1
    assert_png(Path(out.strip()), pixel_size("1:1", "1k"))


def test_ctrl_c_exits_130(make_sim, tmp_path):
    sim = make_sim(latency=30)
    proc = subprocess.Popen([str(SCRIPT), "generate", "a slow red fox", "--out", str(tmp_path)],
                            env=subprocess_env(RUNAPI_BASE_URL=sim.url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: sim.count("POST") == 1 or proc.poll() is not None)
        wait_until(lambda: sim.count("GET") >= 1 or proc.poll() is not None)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: tasks already submitted may still finish" in err
    assert "Traceback" not in err and "destroyed but it is pending" not in err


# ----------------------------------------------------------------------------- compare


def test_compare_tiers_writes_two_images_and_a_csv(fast_sim, capsys, tmp_path):
    code, out, err = run_cli(capsys, "compare", "a red fox in snow", "--tiers", "pro,flex",
                             "--out", str(tmp_path))
    assert code == 0, err
    csv_path = Path(re.search(r"^csv: (.+)$", out, re.M).group(1))
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [r["tier"] for r in rows] == ["pro", "flex"]
    assert all(r["status"] == "completed" for r in rows)
    assert [float(r["cost"]) for r in rows] == [price("pro", "1k"), price("flex", "1k")]
    images = sorted(tmp_path.rglob("*.png"))
    assert len(images) == 2
    for img in images:
        assert_png(img, pixel_size("1:1", "1k"))
        assert str(img) in out  # the table's file column
    table = out.splitlines()
    assert table[1].split() == ["tier", "resolution", "size", "cost", "latency", "file"]
    assert "Pro" in table[3] and f"would have cost {format_usd(price('pro', '1k'))}" in table[3]
    assert "Flex" in table[4] and format_usd(price("flex", "1k")) in table[4]
    assert fast_sim.count("POST") == 2


def test_compare_resolutions_sizes(fast_sim, capsys, tmp_path):
    code, out, err = run_cli(capsys, "compare", "a red fox in snow", "--resolutions", "1k,2k",
                             "--tier", "flex", "--json", "--out", str(tmp_path))
    assert code == 0, err
    data = json.loads(out)
    assert [(r["tier"], r["resolution"]) for r in data["rows"]] == [("flex", "1k"), ("flex", "2k")]
    assert [(r["width"], r["height"]) for r in data["rows"]] == [pixel_size("1:1", r) for r in RESOLUTIONS]
    assert len(list(csv.DictReader(io.StringIO(Path(data["csv"]).read_text())))) == 2


@pytest.mark.parametrize(("argv", "expected"), [
    (["--tiers", "pro,ultra"], "unknown tier 'ultra'"),
    (["--tiers", "pro,flex", "--budget", "0.10"], "over the budget of $0.10"),
    (["--resolutions", "1k,2k", "--tier", "max"], "not available for Max"),
    (["--tiers", "pro", "--tier", "flex"], "drop --tier"),
])
def test_compare_bad_plans_exit_2_and_send_nothing(fast_sim, capsys, tmp_path, argv, expected):
    out_dir = tmp_path / "never" / "here"
    code, out, err = run_cli(capsys, "compare", "a red fox in snow", "--out", str(out_dir), *argv)
    assert code == 2 and expected in err and out == ""
    assert fast_sim.count() == 0
    assert not (tmp_path / "never").exists()


# ----------------------------------------------------------------------------- simulator


def test_simulator_command_serves_until_ctrl_c(capsys, tmp_path, monkeypatch):
    proc = subprocess.Popen([str(SCRIPT), "simulator", "--port", "0", "--latency", "0.1"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("images from" in ln for ln in lines) or proc.poll() is not None)
        match = re.search(r"(http://127\.0\.0\.1:\d+)\s+\(images from (http://127\.0\.0\.1:\d+)\)", lines[0])
        assert match, lines
        monkeypatch.setenv("RUNAPI_BASE_URL", match.group(1))
        code, out, err = run_cli(capsys, "generate", "a red fox", "--out", str(tmp_path))
        assert code == 0, err
        assert_png(Path(out.strip()), pixel_size("1:1", "1k"))
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr.read()


def test_help_lists_every_command_without_heavy_imports():
    code = (
        "import sys\n"
        "from flux2_widgets.cli import build_parser\n"
        "parser, subs = build_parser()\n"
        "assert set(subs) == {'generate', 'compare', 'costs', 'budget', 'workspace', 'simulator'}\n"
        "heavy = [m for m in ('httpx', 'PIL', 'uvicorn', 'starlette', 'ipywidgets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- real money


@pytest.fixture
def make_tunnel(make_sim):
    """``make_tunnel(**simulator_options)`` -> (URL, simulator): a RunAPI look-alike on this
    machine that is not the simulator, i.e. a loopback proxy to a simulator that drops the
    header by which the simulator names itself (as an SSH tunnel or a local proxy to the
    real service would look)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from flux2_widgets.catalog import SIMULATOR_HEADER

    opened = []

    def factory(**options):
        sim = make_sim(latency=0.05, balance_cents=10**7, **options)
        upstream = httpx.Client(base_url=sim.url, timeout=10)
        handler = _proxy_to(upstream, SIMULATOR_HEADER, BaseHTTPRequestHandler)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        opened.append((server, upstream))
        return f"http://127.0.0.1:{server.server_address[1]}", sim

    yield factory
    for server, upstream in opened:
        server.shutdown()
        server.server_close()
        upstream.close()


@pytest.fixture
def tunnel(make_tunnel):
    return make_tunnel()


def _proxy_to(upstream, hidden: str, base):

    class Proxy(base):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            answer = upstream.request(self.command, self.path, content=body, headers=headers)
            self.send_response(answer.status_code)
            for k, v in answer.headers.items():
                if k.lower() not in (hidden, "content-length", "transfer-encoding",
                                     "connection", "content-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _forward

        def log_message(self, *args) -> None:
            pass

    return Proxy


class _Terminal(io.StringIO):
    """Standard input that is a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def live_key(monkeypatch):
    monkeypatch.setenv("RUNAPI_API_KEY", SECRET_KEY)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal unless a test says so


def test_a_key_and_a_loopback_server_that_is_not_the_simulator_is_live(tunnel, live_key, capsys,
                                                                        monkeypatch, tmp_path):
    url, sim = tunnel
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    code, out, err = run_cli(capsys, "generate", "a red fox", "--out", str(tmp_path))
    assert code == 0, err
    assert err.splitlines()[0] == f"LIVE: {url} with key sk-...cdef: costs are real money"
    assert "SIMULATED" not in err and "would have cost" not in err
    assert re.search(r"^saved \S+ \(1024x1024, \$0\.05, ", err, re.M), err
    assert sim.count("POST") == 1 and SECRET_KEY not in out + err


def test_a_key_and_the_simulator_is_simulated_once_it_says_so(fast_sim, live_key, capsys, tmp_path):
    code, _, err = run_cli(capsys, "generate", "a red fox", "--out", str(tmp_path))
    assert code == 0, err
    assert err.splitlines()[0] == (f"using the simulator (the server at {fast_sim.url} identifies itself "
                                   "as the simulator): images are SIMULATED, nothing is charged")
    assert "would have cost" in err


@pytest.mark.parametrize(("argv", "why"), [
    (["--count", "17"], "17 images about $0.85: more than 16 images"),
    (["--tier", "flex", "--resolution", "2k", "--count", "9"], "9 images about $2.16: more than $2.00"),
    (["--tier", "max"], "1 image at an unknown price"),
])
def test_without_a_terminal_big_live_batches_are_refused_and_nothing_is_sent(
        tunnel, live_key, capsys, monkeypatch, tmp_path, argv, why):
    url, sim = tunnel
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    out_dir = tmp_path / "never"
    code, out, err = run_cli(capsys, "generate", "a red fox", "--out", str(out_dir), *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: LIVE") and why in err and "pass --yes" in err and "nothing was sent" in err
    assert sim.count() == 0 and not out_dir.exists()


def test_live_prices_above_the_limit_are_refused_before_any_image_is_asked(make_tunnel, live_key, capsys,
                                                                           monkeypatch, tmp_path):
    url, sim = make_tunnel(prices={("pro", "1k"): 0.30})  # the catalog says $0.05
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    code, _, err = run_cli(capsys, "generate", "a red fox", "--count", "8", "--out", str(tmp_path))
    assert code == 2 and "8 images about $2.40: more than $2.00" in err and "pass --yes" in err
    assert sim.count("POST") == 0 and sim.count() == sim.count("GET", "/api/v1/price_schedules") == 1


def test_yes_spends_without_asking(tunnel, live_key, capsys, monkeypatch, tmp_path):
    url, sim = tunnel
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    code, out, err = run_cli(capsys, "generate", "a red fox", "--count", "17", "--yes", "--quiet",
                             "--out", str(tmp_path))
    assert code == 0, err
    assert len(out.splitlines()) == 17 and sim.count("POST") == 17


@pytest.mark.parametrize(("typed", "expected_code", "posts"), [("y\n", 0, 17), ("\n", 2, 0), ("no\n", 2, 0)])
def test_at_a_terminal_the_user_is_asked(tunnel, live_key, capsys, monkeypatch, tmp_path, typed,
                                         expected_code, posts):
    url, sim = tunnel
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    monkeypatch.setattr(sys, "stdin", _Terminal(typed))
    code, _, err = run_cli(capsys, "generate", "a red fox", "--count", "17", "--quiet",
                           "--out", str(tmp_path))
    assert code == expected_code, err
    assert "17 images about $0.85: more than 16 images. Spend it? [y/N]" in err
    assert sim.count("POST") == posts
    if posts == 0:
        assert "not confirmed; nothing was sent" in err


def test_compare_asks_too(tunnel, live_key, capsys, monkeypatch, tmp_path):
    url, sim = tunnel
    monkeypatch.setenv("RUNAPI_BASE_URL", url)
    code, _, err = run_cli(capsys, "compare", "a red fox", "--tiers", "pro,flex,max", "--out", str(tmp_path))
    assert code == 2 and "unknown price" in err and "pass --yes" in err and sim.count() == 0
    code, _, err = run_cli(capsys, "compare", "a red fox", "--tiers", "pro,flex", "--out", str(tmp_path))
    assert code == 0, err
    assert err.splitlines()[0].startswith("LIVE: ") and sim.count("POST") == 2


def test_the_simulator_without_a_key_never_asks(fast_sim, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run_cli(capsys, "generate", "a red fox", "--count", "17", "--quiet",
                           "--out", str(tmp_path))
    assert code == 0, err
    assert fast_sim.count("POST") == 17


def test_budget_sets_and_shows_the_folder_cap(capsys, tmp_path):
    folder = tmp_path / "results"
    # a folder never used: shown, nothing to show (a typo in --dir is not a fresh $0 budget);
    # set, a new workspace is made there, and the note says so
    code, out, err = run_cli(capsys, "budget", "--dir", str(folder))
    assert code == 2 and out == "" and "has no workspace yet" in err and not folder.exists()
    code, out, err = run_cli(capsys, "budget", "--dir", str(folder), "--total", "5", "--per-day", "1.5")
    assert code == 0 and "a new one is made there" in err
    assert "workspace budget of" in out and "$5.00" in out and "$1.50" in out
    code, out, err = run_cli(capsys, "budget", "--dir", str(folder))
    assert code == 0 and err == "" and "$5.00" in out
    code, _, err = run_cli(capsys, "budget", "--dir", str(folder), "--total", "1e14")
    assert code == 2 and "total" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, "budget", "--dir", str(folder), "--per-day", "2", "--json")
    data = json.loads(out)
    assert (data["cap"], data["per_day"], data["spent"], data["left"]) == (5.0, 2.0, 0.0, 5.0)
    code, out, _ = run_cli(capsys, "budget", "--dir", str(folder), "--scope", "visitor:ada", "--total", "0.5")
    assert code == 0 and "visitor:ada budget" in out
    code, out, _ = run_cli(capsys, "budget", "--dir", str(folder), "--clear", "--json")
    assert json.loads(out)["cap"] is None
    code, _, err = run_cli(capsys, "budget", "--dir", str(folder), "--total", "nan")
    assert code == 2 and "--total" in err
    for typo in ("workpace", "visitor:", "bogus"):  # a cap nothing reserves under is refused
        code, out, err = run_cli(capsys, "budget", "--dir", str(folder), "--scope", typo, "--total", "10")
        assert code == 2 and out == "" and "visitor:<id>" in err, (typo, err)
    assert "workpace" not in Workspace(folder).budget.scopes()


def test_generate_and_compare_default_to_flux2_results_dir(fast_sim, capsys, tmp_path, monkeypatch):
    folder = tmp_path / "from-env"
    monkeypatch.setenv("FLUX2_RESULTS_DIR", str(folder))
    monkeypatch.chdir(tmp_path)  # nothing may land in ./flux2_results
    code, out, err = run_cli(capsys, "generate", "a lighthouse at dawn", "--tier", "flex")
    assert code == 0, err
    paths = [Path(line) for line in out.splitlines()]
    assert len(paths) == 1 and paths[0].is_relative_to(folder)
    assert_png(paths[0], pixel_size("1:1", "1k"))
    assert (folder / "runs.jsonl").exists()
    code, out, err = run_cli(capsys, "compare", "a red fox in snow", "--quiet")
    assert code == 0, err
    assert Path(re.search(r"^csv: (.+)$", out, re.M).group(1)).parent == folder
    assert len(list(folder.rglob("*.png"))) == 3
    assert not (tmp_path / "flux2_results").exists()
    # --out still wins, and --help says where the default comes from
    code, out, err = run_cli(capsys, "generate", "a fox", "--out", str(tmp_path / "given"), "--quiet")
    assert code == 0, err
    assert Path(out.strip()).is_relative_to(tmp_path / "given")
    code, out, _ = run_cli(capsys, "generate", "--help")
    assert code == 0 and "$FLUX2_RESULTS_DIR" in " ".join(out.split())
