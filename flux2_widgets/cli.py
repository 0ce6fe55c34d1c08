"""``flux2-widgets``: generate, compare and price Flux 2 images from a terminal.

    flux2-widgets costs --tiers pro,flex --images 4
    flux2-widgets generate "a lighthouse at dawn" --tier flex --count 2 --budget 0.50
    flux2-widgets compare "a red fox in snow" --tiers pro,flex
    flux2-widgets simulator --port 8787 --latency 1

With a key configured the first line says LIVE (only a server that names itself the
simulator makes it SIMULATED), and real money above $2 or 16 images needs a yes: an
answer at the terminal or ``--yes``; with no terminal to ask, the command refuses.

Progress goes to stderr, results (paths, tables, JSON) to stdout. Exit codes:
0 ok; 1 an API error or a failed task; 2 bad arguments or no confirmation (nothing
was sent); 130 interrupted. Heavy modules (httpx, Pillow, the simulator's server) load
only inside the subcommand that needs them, so ``--help`` stays instant.

Longer than most modules, for one job: the terminal front-end (arguments, confirmation before
spending, progress and exit codes) over the same client and comparisons the notebooks use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._checks import check_number
from ._version import __version__
from .catalog import (
    MAX_CONCURRENCY,
    MAX_PLANNED_IMAGES,
    REMIX_ASPECT_RATIOS,
    RESOLUTIONS,
    TIERS,
    count_label,
    tier_label,
)
from .errors import BudgetExceededError, Flux2Error, ValidationError
from .money import cost_text, format_usd

if TYPE_CHECKING:  # pragma: no cover
    from .client._core import Flux2Client
    from .compare import Cell, Plan
    from .results import Generation, Task
    from .store import ResultStore

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Where ``--out`` / ``--dir`` default to (see ``_folder``).
DEFAULT_FOLDER = "$FLUX2_RESULTS_DIR, else ./flux2_results"
#: Real money above these needs a yes (``--yes``, or an answer at the terminal).
CONFIRM_OVER_USD = 2.0
CONFIRM_OVER_IMAGES = 16


class _Usage(Exception):
    """A bad argument found after parsing (exit 2, nothing sent)."""


# ----------------------------------------------------------------------------- output


def _short(task_id: str) -> str:
    """Ids already say they are tasks ("task_ab12"); don't print "task task_ab12"."""
    return task_id.removeprefix("task_")


def _say(message: str, stream: TextIO | None = None) -> None:
    # Resolved at call time so pytest's capsys (and redirections) see it.
    print(message, file=stream or sys.stderr, flush=True)


def _out(message: str) -> None:
    print(message, file=sys.stdout, flush=True)


def _error(message: object) -> None:
    _say(f"error: {message}")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])



# ----------------------------------------------------------------------------- argument types


def _number(text: str, *, parse: Callable[[str], float], what: str, **rule: Any) -> Any:
    """An argument's text as a number, held to the toolkit's one number check
    (``flux2_widgets._checks.check_number``); argparse words the refusal."""
    try:
        value = parse(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    try:
        return check_number("value", value, **rule)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} must be {exc.allowed}") from None


def _count(most: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        return int(_number(text, parse=int, what="a whole number", minimum=1, strict=False, integer=True,
                           maximum=most))
    return parse


def _usd(text: str) -> float:
    return float(_number(text.lstrip().lstrip("$"), parse=float,
                         what="an amount of US dollars (e.g. 0.50)", strict=False))


def _seconds(text: str) -> float:
    return float(_number(text, parse=float, what="a number of seconds"))


def _csv_list(text: str) -> list[str]:
    """``"pro, flex"`` -> ``["pro", "flex"]``; the catalog checks the names."""
    return [part.strip().lower() for part in text.split(",") if part.strip()]


# ----------------------------------------------------------------------------- clients


def _make_client(args: argparse.Namespace, store: ResultStore) -> Flux2Client:
    """The configured client (key from RUNAPI_API_KEY / config), else the embedded
    simulator; ``--simulate`` forces the simulator even when a key exists.
    Creating a client sends nothing."""
    from .client._defaults import default_client

    if args.simulate:
        from .catalog import SIMULATOR_TOKEN
        from .client._core import Flux2Client
        from .client._embedded import shared_simulator

        # An explicit placeholder token: the configured key is never sent, even to loopback.
        return Flux2Client(SIMULATOR_TOKEN, base_url=shared_simulator().url, simulated=True, store=store)
    return default_client(store=store)


@contextmanager
def _session(client: Flux2Client, interrupted_hint: str,
             on_interrupt: Callable[[], None] | None = None) -> Iterator[Flux2Client]:
    """Close the client's pools when the command ends. On Ctrl-C, say what may still
    happen to tasks already submitted, and let ``on_interrupt`` stop work that runs on
    past the interrupted call (sync client calls cancel their own, in ``run_sync``)."""
    try:
        yield client
    except KeyboardInterrupt as exc:
        _say(f"interrupted: {interrupted_hint}")
        exc.reported = True  # type: ignore[attr-defined]
        if on_interrupt is not None:
            on_interrupt()
        raise
    finally:
        client.close()


def _key_configured(args: argparse.Namespace) -> bool:
    """A real key will be used: real money, unless the server proves it is the simulator."""
    from .client._settings import resolve_settings

    return not args.simulate and resolve_settings().api_key is not None


def _settle_server(client: Flux2Client) -> Any:
    """Ask the (anonymous, free) price schedule: the answer says whether the server is the
    simulator, and gives the prices the service charges now (the catalog's when it cannot
    be asked)."""
    return client.prices()


def _announce(client: Flux2Client, args: argparse.Namespace) -> None:
    """The first line: LIVE with a key, unless the server named itself the simulator."""
    if not client.simulated:
        _say(f"LIVE: {client.base_url} with key {client.aio.key_hint}: costs are real money")
        return
    if args.simulate:
        why = "--simulate"
    elif client.aio.key_hint == "simulator":
        why = "no API key"
    else:
        why = f"the server at {client.base_url} identifies itself as the simulator"
    _say(f"using the simulator ({why}): images are SIMULATED, nothing is charged")


def _needs_yes(requests: Sequence[Any], prices: Any) -> str | None:
    """Why this batch needs a confirmation with real money, or ``None``."""
    from .money import estimate

    total, unknown = estimate(requests, prices)
    n = len(requests)
    amount = "at an unknown price" if unknown else f"about {format_usd(total)}"
    what = f"{n} image{'s' if n != 1 else ''} {amount}"
    if n > CONFIRM_OVER_IMAGES:
        return f"{what}: more than {CONFIRM_OVER_IMAGES} images"
    if unknown:
        return f"{what}: the service publishes no price for some of them"
    if total > CONFIRM_OVER_USD + 1e-9:
        return f"{what}: more than {format_usd(CONFIRM_OVER_USD)}"
    return None


def _refuse_unconfirmed(why: str, where: str) -> None:
    raise _Usage(f"LIVE ({where}): {why}. There is no terminal to ask for a confirmation, so "
                 "nothing was sent; pass --yes to spend it.")


def _refuse_early(args: argparse.Namespace, requests: Sequence[Any], live: bool) -> None:
    """With a key and nobody to ask, refuse on the catalog's figures before sending
    anything at all (not even the price question)."""
    no_terminal = not sys.stdin or not sys.stdin.isatty()
    if live and not args.yes and no_terminal and (why := _needs_yes(requests, None)) is not None:
        _refuse_unconfirmed(why, "a key is configured")


def _confirm(args: argparse.Namespace, requests: Sequence[Any], prices: Any, where: str) -> None:
    """Ask before real money passes the limits; ``--yes`` skips the question, and with no
    terminal to ask the command refuses (exit 2) having sent nothing."""
    why = _needs_yes(requests, prices)
    if why is None or args.yes:
        return
    if not sys.stdin or not sys.stdin.isatty():
        _refuse_unconfirmed(why, where)
    print(f"LIVE ({where}): {why}. Spend it? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise _Usage("not confirmed; nothing was sent")


def _make_out(path: Path) -> tuple[Path, list[Path]]:
    """Create ``--out`` now, so an unwritable folder is refused before anything is
    sent (not after a task was paid for). Returns it and the folders created."""
    out = path.expanduser()
    created = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".flux2-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        _remove_empty(created)
        raise _Usage(f"cannot write to the output folder {str(out)!r} ({exc.strerror or exc}); "
                     "pick another with --out") from None
    return out, created


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def _prompt(args: argparse.Namespace) -> str:
    return " ".join(args.prompt)


def _folder(given: str | None) -> Path:
    """``--out`` / ``--dir`` as given, else the results folder default clients save to
    (``$FLUX2_RESULTS_DIR``, else ``./flux2_results``): the workspace's own rule, read when
    the command runs (importing it while building the parser would slow ``--help``)."""
    if given is not None:
        return Path(given)
    from .workspace._workspace import _default_root

    return _default_root()


# ----------------------------------------------------------------------------- generate


def _progress(quiet: bool) -> Callable[[Task], None]:
    def on_update(task: Task) -> None:
        if not quiet:
            _say(f"task {_short(task.id)} {task.status} {task.elapsed:.1f}s")

    return on_update


def _saved_paths(gen: Generation, store: ResultStore) -> list[Path]:
    paths = [img.path for img in gen.images]
    if any(p is None for p in paths):  # the client saves through its store; this is a safety net
        return store.save(gen)
    return [p for p in paths if p is not None]


def cmd_generate(args: argparse.Namespace) -> int:
    from .catalog import ImageRequest
    from .money import catalog_price, check_budget
    from .store import ResultStore

    request = ImageRequest(_prompt(args), tier=args.tier, resolution=args.resolution,
                           aspect_ratio=args.aspect_ratio, source_image_urls=tuple(args.source))
    requests = [request] * args.count
    check_budget(requests, args.budget)
    live = _key_configured(args)
    _refuse_early(args, requests, live)
    store = ResultStore(_make_out(_folder(args.out))[0])
    client = _make_client(args, store)
    prices = _settle_server(client) if live else None
    _announce(client, args)
    estimate = check_budget(requests, args.budget, prices=prices)
    if not client.simulated:
        _confirm(args, requests, prices, client.base_url)
    if not args.quiet:
        unit = (prices or catalog_price)(request)
        _say(f"{count_label(args.count, request.label)} ({request.action}), "
             f"{cost_text(estimate if unit is not None else None, 'estimate', client.simulated)}")

    records: list[dict[str, Any]] = [{} for _ in requests]

    def on_result(index: int, result: Generation | Flux2Error) -> None:
        if isinstance(result, Flux2Error):
            _error(result)
            records[index] = {"error": str(result), "type": type(result).__name__,
                              "task_id": result.task_id}
            return
        paths = _saved_paths(result, store)
        cost = cost_text(result.cost, result.cost_source, result.simulated)
        for path, img in zip(paths, result.images, strict=False):
            w, h = img.size
            if not args.quiet:
                _say(f"saved {path} ({w}x{h}, {cost}, {result.elapsed:.1f}s)")
            if not args.json:
                _out(str(path))
        records[index] = {**result.to_row(), "files": [str(p) for p in paths], "cost_text": cost}

    hint = (f"tasks already submitted may still finish (and be billed); the run log in {store.root} "
            f"lets Flux2Client(store=ResultStore({str(store.root)!r})).resume() collect them")
    with _session(client, hint):
        results = client.generate_many(requests, budget=args.budget, timeout=args.timeout,
                                       on_update=_progress(args.quiet), on_result=on_result)
    if args.json:
        _out(json.dumps({"simulated": client.simulated, "base_url": client.base_url,
                         "out": str(store.root), "results": records}, indent=2, ensure_ascii=False))
    return EXIT_FAILED if any(isinstance(r, Flux2Error) for r in results) else EXIT_OK


# ----------------------------------------------------------------------------- compare


def _plan_comparison(args: argparse.Namespace) -> Plan:
    """The comparison to run, validated, nothing sent."""
    from .compare.plans import plan_grid, plan_resolutions, plan_tiers

    prompt, ratio = _prompt(args), args.aspect_ratio
    tiers, resolutions = args.tiers, args.resolutions
    if tiers is not None and resolutions is not None:
        return plan_grid([prompt], tiers, resolutions, ratio)
    if resolutions is not None:
        return plan_resolutions(prompt, args.tier or "pro", resolutions, ratio)
    return plan_tiers(prompt, ["pro", "flex"] if tiers is None else tiers, args.resolution or "1k", ratio)


def _cell_row(cell: Cell) -> list[str]:
    req = cell.request
    if cell.ok and cell.result is not None:
        files = " ".join(str(img.path) for img in cell.result.images if img.path is not None)
        latency = f"{cell.latency:.1f}s" if cell.latency is not None else ""
    else:
        files, latency = f"{cell.status}: {cell.error_text or 'stopped waiting'}", ""
    return [tier_label(req.tier), req.resolution, cell.size_text, cell.cost_text, latency, files]


def cmd_compare(args: argparse.Namespace) -> int:
    import time

    from .money import check_budget
    from .store import ResultStore

    if args.tiers is not None and args.tier is not None:
        raise _Usage("--tier picks the tier for --resolutions; with --tiers, drop --tier")
    if args.resolutions is not None and args.resolution is not None:
        raise _Usage("--resolution picks the resolution for --tiers; with --resolutions, drop --resolution")
    plan = _plan_comparison(args)  # names, prompt, size and budget, before anything is sent
    plan.check(args.budget)
    requests = [cell.request for cell in plan.cells]
    live = _key_configured(args)
    _refuse_early(args, requests, live)
    out, created = _make_out(_folder(args.out))
    store = ResultStore(out)
    client = _make_client(args, store)
    try:
        prices = _settle_server(client) if live else None
        _announce(client, args)
        if not client.simulated:
            check_budget(requests, args.budget, what=plan.what, prices=prices)
            _confirm(args, requests, prices, client.base_url)
        cmp = plan.launch(client=client, budget=args.budget, timeout=args.timeout)
    except (Flux2Error, _Usage):
        _remove_empty(created)  # a refused plan leaves no trace
        client.close()
        raise
    seen: dict[int, str] = {}

    def on_change(cell: Cell | None) -> None:
        if cell is None or cell.task is None or args.quiet or seen.get(cell.index) == cell.status:
            return
        seen[cell.index] = cell.status
        _say(f"task {_short(cell.task.id)} {cell.status} {cell.task.elapsed:.1f}s ({cell.col_label})")

    cmp.on_change(on_change)
    # Ctrl-C stops only the waiting; cancel the cells too, so none is left pending on the loop.
    with _session(client, "tasks already submitted may still finish (and be billed)", cmp.cancel):
        cmp.wait()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    csv_path = Path(args.csv) if args.csv else store.root / f"compare-{cmp.kind}-{stamp}.csv"
    cmp.to_csv(csv_path)
    for cell in cmp.cells:
        if cell.error is not None:
            _error(f"{cell.col_label}: {cell.error_text}")
    if args.json:
        _out(json.dumps({"simulated": cmp.simulated, "csv": str(csv_path), "total": cmp.total_text,
                         "rows": cmp.rows()}, indent=2, ensure_ascii=False, default=str))
    else:
        rows = [_cell_row(c) for c in cmp.cells]
        _out(cmp.title)
        _out(_table(["tier", "resolution", "size", "cost", "latency", "file"], rows))
        _out(f"total: {cmp.total_text}")
        _out(f"csv: {csv_path}")
    return EXIT_FAILED if cmp.errors else EXIT_OK


# ----------------------------------------------------------------------------- costs


def cmd_costs(args: argparse.Namespace) -> int:
    import csv

    from .compare import cost_table

    table = cost_table(TIERS if args.tiers is None else args.tiers,
                       RESOLUTIONS if args.resolutions is None else args.resolutions, images=args.images,
                       aspect_ratio=args.aspect_ratio)
    keys = [key for key, _ in table.columns]
    if args.json:
        _out(json.dumps({"title": table.title, "rows": table.rows, "totals": table.totals,
                         "notes": table.notes}, indent=2, ensure_ascii=False))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in keys} for row in table.rows)
    else:
        _out(str(table))
    return EXIT_OK


# ----------------------------------------------------------------------------- budget


def cmd_budget(args: argparse.Namespace) -> int:
    """Show (and with --total / --per-day / --clear, set) a workspace budget cap."""
    from .workspace import DATABASE_URL_ENV, Workspace

    folder = _folder(args.dir)
    setting = args.clear or args.total is not None or args.per_day is not None
    if not (folder / "workspace.db").exists() and not os.environ.get(DATABASE_URL_ENV):
        if not setting:
            _error(f"{folder} has no workspace yet (no results were saved there): no budget to show. "
                   "Check --dir, or set a cap with --total / --per-day.")
            return EXIT_USAGE
        _say(f"note: {folder} had no workspace: a new one is made there (check --dir if that is a typo)")
    ws = Workspace(folder)
    try:
        kind = args.scope.split(":", 1)
        known = args.scope == "workspace" or (kind[0] == "visitor" and len(kind) == 2 and kind[1].strip())
        if not known and args.scope not in ws.budget.scopes():  # a typo would be a cap nobody checks
            _error(f"--scope {args.scope!r} is no budget anything reserves under: use workspace (the "
                   "folder), visitor:* (every visitor's quota) or visitor:<id> (one visitor's)")
            return EXIT_USAGE
        if args.clear:
            ws.budget.set_cap(args.scope)
        elif args.total is not None or args.per_day is not None:
            current = ws.budget.status(args.scope)
            ws.budget.set_cap(args.scope, total=args.total if args.total is not None else current.cap,
                              per_day=args.per_day if args.per_day is not None else current.per_day)
        st = ws.budget.status(args.scope)
        if args.json:
            _out(json.dumps({"scope": st.scope, "database": ws.database, "cap": st.cap, "per_day": st.per_day,
                             "spent": st.spent, "may_still_be_billed": st.reserved, "left": st.left,
                             "day": st.day, "spent_today": st.spent_today, "left_today": st.left_today},
                            indent=2))
            return EXIT_OK
        _out(f"{st.scope} budget of {folder} ({ws.database})")
        cap = format_usd(st.cap) if st.cap is not None else "no cap"
        day = format_usd(st.per_day) if st.per_day is not None else "no cap"
        rows = [["total", cap, format_usd(st.spent), format_usd(st.reserved),
                 format_usd(st.left) if st.left is not None else "-"],
                [f"today ({st.day}, UTC)", day, format_usd(st.spent_today), format_usd(st.reserved_today),
                 format_usd(st.left_today) if st.left_today is not None else "-"]]
        _out(_table(["", "cap", "spent", "may still be billed", "left"], rows))
        return EXIT_OK
    finally:
        ws.close()


def cmd_workspace(args: argparse.Namespace) -> int:
    """Where a results folder's database is and what it holds; ``--copy-to`` moves it."""
    from .workspace import Workspace

    folder = _folder(args.dir)
    ws = Workspace(folder)
    try:
        if args.copy_to:
            report = ws.copy_to(args.copy_to)
            _say(f"{report} (into {Workspace(folder, database_url=args.copy_to).database})")
            _say("point the class there: export FLUX2_DATABASE_URL=... (the password stays out of notebooks)")
            return EXIT_OK
        results = ws.results.count(None)
        _out(f"results folder {folder}: database {ws.database}")
        _out(f"  {results} results, {len(ws.comparisons.recent())} saved comparisons, "
             f"{len(ws.arenas.all())} arenas")
        return EXIT_OK
    finally:
        ws.close()


# ----------------------------------------------------------------------------- simulator


def cmd_simulator(argv: Sequence[str]) -> int:
    """Hand the arguments to ``python -m flux2_widgets.simulator``: one implementation."""
    from .simulator.__main__ import main as simulator_main

    return simulator_main(list(argv))


# ----------------------------------------------------------------------------- parser


def _add_request_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", nargs="+", help="the prompt (quote it, or give several words)")
    p.add_argument("--aspect-ratio", default="1:1", type=str.lower, choices=REMIX_ASPECT_RATIOS,
                   metavar="RATIO", help=f"one of {', '.join(REMIX_ASPECT_RATIOS)} (auto: remix only; "
                   "default 1:1)")
    p.add_argument("--budget", type=_usd, metavar="USD",
                   help="refuse (exit 2, nothing sent) if the estimate is above this many dollars")
    p.add_argument("--out", metavar="DIR",
                   help=f"where images, JSON sidecars and the run log go (default {DEFAULT_FOLDER})")
    p.add_argument("--timeout", type=_seconds, metavar="S", help="give up waiting on a task after S seconds")
    p.add_argument("--simulate", action="store_true",
                   help="use the embedded simulator even if an API key is configured")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("-y", "--yes", action="store_true",
                   help=f"with a live key, spend without asking even above {format_usd(CONFIRM_OVER_USD)} "
                        f"or {CONFIRM_OVER_IMAGES} images (without a terminal the command refuses otherwise)")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="flux2-widgets",
        description="Flux 2 images via RunAPI from the terminal. Uses RUNAPI_API_KEY (or "
                    "~/.config/runapi/config.json); without a key, a local simulator.",
        epilog="exit codes: 0 ok, 1 API error or failed task, 2 bad arguments or no confirmation "
               "(nothing sent), 130 Ctrl-C")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    subs: dict[str, argparse.ArgumentParser] = {}

    p = subs["generate"] = sub.add_parser(
        "generate", help="one prompt to image files on disk",
        description="Generate images for one prompt and save them (plus JSON sidecars and a run log). "
                    "Saved paths go to stdout, progress to stderr.")
    _add_request_options(p)
    p.add_argument("--tier", default="pro", type=str.lower, choices=TIERS, help="default pro")
    p.add_argument("--resolution", default="1k", type=str.lower, choices=RESOLUTIONS,
                   help="default 1k (Max: 1k only)")
    p.add_argument("--count", "-n", type=_count(MAX_CONCURRENCY), default=1, metavar="N",
                   help="images to make (default 1)")
    p.add_argument("--source", action="append", default=[], metavar="URL",
                   help="source image URL for remix (repeat for several)")
    p.set_defaults(handler=cmd_generate)

    p = subs["compare"] = sub.add_parser(
        "compare", help="Pro vs Flex, or 1k vs 2k, for one prompt",
        description="Run one prompt side by side: --tiers pro,flex (default) or --resolutions 1k,2k "
                    "(both: every combination). Saves the images and a CSV, prints a table.")
    _add_request_options(p)
    p.add_argument("--tiers", type=_csv_list, metavar="LIST", help="e.g. pro,flex (default)")
    p.add_argument("--resolutions", type=_csv_list, metavar="LIST", help="e.g. 1k,2k")
    p.add_argument("--tier", type=str.lower, choices=TIERS, help="tier for --resolutions (default pro)")
    p.add_argument("--resolution", type=str.lower, choices=RESOLUTIONS,
                   help="resolution for --tiers (default 1k)")
    p.add_argument("--csv", metavar="PATH",
                   help="where to write the CSV (default DIR/compare-<kind>-<time>.csv)")
    p.set_defaults(handler=cmd_compare)

    p = subs["costs"] = sub.add_parser(
        "costs", help="print the price table (no requests)",
        description="Catalog prices per tier and resolution, and what a plan of N images each costs.")
    p.add_argument("--tiers", type=_csv_list, metavar="LIST", help=f"default {','.join(TIERS)}")
    p.add_argument("--resolutions", type=_csv_list, metavar="LIST", help=f"default {','.join(RESOLUTIONS)}")
    p.add_argument("--images", type=_count(MAX_PLANNED_IMAGES), default=1, metavar="N",
                   help="images of each combination (default 1)")
    p.add_argument("--aspect-ratio", default="1:1", metavar="RATIO", help="for the size column (default 1:1)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout")
    fmt.add_argument("--json", action="store_true", help="JSON on stdout")
    p.set_defaults(handler=cmd_costs)

    p = subs["budget"] = sub.add_parser(
        "budget", help="show or set the results folder's budget (held across kernels)",
        description="The workspace budget: every create from a client with this results folder is "
                    "reserved against it before it is sent, across kernels and processes. With no "
                    "option, prints where it stands.")
    p.add_argument("--dir", metavar="DIR", help=f"the results folder (default {DEFAULT_FOLDER})")
    p.add_argument("--scope", default="workspace",
                   help="whose budget: workspace (the folder, default) or visitor:<id> (a quota)")
    p.add_argument("--total", type=_usd, metavar="USD", help="cap on everything spent")
    p.add_argument("--per-day", type=_usd, metavar="USD", help="cap per UTC day")
    p.add_argument("--clear", action="store_true", help="remove the caps of this scope")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.set_defaults(handler=cmd_budget)

    p = subs["workspace"] = sub.add_parser(
        "workspace", help="where the results folder's database is; copy it to PostgreSQL",
        description="The workspace database of a results folder (SQLite in the folder, or "
                    "$FLUX2_DATABASE_URL). --copy-to postgresql://... moves stars, tags, notes, "
                    "comparisons and votes, budgets and arenas there, and indexes the folder's results.")
    p.add_argument("--dir", metavar="DIR", help=f"the results folder (default {DEFAULT_FOLDER})")
    p.add_argument("--copy-to", metavar="URL", help="a postgresql:// URL to copy the workspace into")
    p.set_defaults(handler=cmd_workspace)

    # Its options belong to `python -m flux2_widgets.simulator`, which parses them (and --help).
    subs["simulator"] = sub.add_parser(
        "simulator", add_help=False, help="run the local RunAPI simulator until Ctrl-C",
        description="Options: --host 127.0.0.1 --port 0 --speed 1 --latency S (see `simulator --help`).")
    return parser, subs


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flux2-widgets`` console script; returns the exit code."""
    parser, subs = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command == "simulator":
            return cmd_simulator(extra)
        if extra:
            subs[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        return int(args.handler(args))
    except KeyboardInterrupt as exc:
        if not getattr(exc, "reported", False):
            _say("interrupted")
        return EXIT_INTERRUPTED
    except _Usage as exc:
        _error(exc)
        return EXIT_USAGE
    except (ValidationError, BudgetExceededError) as exc:
        _error(exc)
        return EXIT_USAGE
    except Flux2Error as exc:
        _error(exc)
        return EXIT_FAILED
    except BrokenPipeError:
        # `flux2-widgets costs | head -1`: the reader left; say nothing more.
        sys.stderr.close()
        return EXIT_FAILED
    except OSError as exc:  # e.g. the disk filled up while saving
        _error(exc)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
