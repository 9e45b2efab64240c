"""`scoreboard replay FILE`: replay a real-match file into a running service, line by line."""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from .client import replay_file
from .plan import ReplayDataError


def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `replay` sub-command to an argparse subparsers object; sets `func=run_replay`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="post the matches of a real-match file to a running service",
        description="Replay real matches (schema: shared/data/README.md) into a running service "
        "as a scorekeeper would: fixtures, goals, cards, substitutions, clock corrections and "
        "penalty shootouts. Prints a line as each match starts and ends, and compares the "
        "result the service reports with the recorded one. Exits 1 if any differs.",
    )
    parser.add_argument("file", metavar="FILE", help="JSON file shaped like real_matches.json")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="service base URL (default: %(default)s)")
    parser.add_argument("--key", required=True, help="scorekeeper API key (sent as Bearer)")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="1 plays each match in real time (the clock on the page runs as it did); 60 plays "
        "a minute of play per second; omitted: as fast as possible. Minutes shown are the data's "
        "at any speed.",
    )
    parser.add_argument("--prefix", default="", help="prefix for match ids, to replay the file again side by side")
    parser.set_defaults(func=run_replay)
    return parser


def run_replay(args: argparse.Namespace) -> int:
    """Run the replay sub-command: lines as matches start and end; 0 when every result matches."""
    if args.speed is not None and args.speed <= 0:
        print("replay: --speed must be positive", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(replay_file(
            args.file, args.url, args.key, args.speed, prefix=args.prefix,
            report=lambda line: print(line, flush=True),
        ))
    except (OSError, ReplayDataError) as exc:
        print(f"replay: {args.file}: {exc}", file=sys.stderr)
        return 2
    differ = sum(not result.ok for result in results)
    print(f"{len(results)} matches: {len(results) - differ} as recorded, {differ} differ", flush=True)
    return 0 if not differ else 1
