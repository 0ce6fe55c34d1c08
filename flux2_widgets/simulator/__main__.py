"""``python -m flux2_widgets.simulator --port 8787 --speed 10``: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import sys
import threading

from . import DEFAULT_BALANCE_CENTS, Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flux2_widgets.simulator",
        description="Local RunAPI-compatible Flux 2 simulator (images watermarked SIMULATED).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    parser.add_argument("--cdn-port", type=int, default=0, help="image origin port (0: any free port)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="time scale: 10 makes tasks 10x faster than the typical latency")
    parser.add_argument("--latency", type=float, default=None,
                        help="fixed seconds per task, for every tier (overrides --speed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jitter", type=float, default=0.15)
    parser.add_argument("--api-key", default=None,
                        help="require exactly this bearer token (default: any non-empty token)")
    parser.add_argument("--balance-cents", type=int, default=DEFAULT_BALANCE_CENTS)
    parser.add_argument("--pacing", type=float, default=None, metavar="S",
                        help="send Retry-After: S on status answers of unfinished tasks")
    parser.add_argument("--timestamps", action="store_true",
                        help="add created_at/completed_at to task answers (the real service does not)")
    parser.add_argument("--with-parent", action="store_true",
                        help="print the URLs as one JSON line and exit when stdin closes "
                             "(used by the embedded simulator: it dies with its kernel)")
    args = parser.parse_args(argv)

    sim = Simulator(speed=args.speed, latency=args.latency, seed=args.seed, host=args.host,
                    port=args.port, api_key=args.api_key, jitter=args.jitter,
                    cdn_port=args.cdn_port, balance_cents=args.balance_cents,
                    pacing=args.pacing, timestamps=args.timestamps)
    try:
        sim.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if args.with_parent:
        print(json.dumps({"url": sim.url, "cdn_url": sim.cdn_url}), flush=True)
        try:
            sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
        return 0
    try:
        print(f"Flux 2 simulator: {sim.url}  (images from {sim.cdn_url})", flush=True)
        print(f"  export RUNAPI_BASE_URL={sim.url} RUNAPI_API_KEY=sim-key   # Ctrl-C to stop",
              flush=True)
        forever = threading.Event()
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
