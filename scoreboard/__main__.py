"""Command line: `scoreboard [serve] [--flags]` runs the service; `scoreboard replay` posts a match file."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .settings import SettingsError, add_settings_arguments, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scoreboard",
        description="Live scoreboard service. Settings: config/default.toml < environment < flags.",
    )
    add_settings_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the service (the default command)")
    add_settings_arguments(serve, suppress=True)
    from .replay import add_replay_parser

    add_replay_parser(commands)
    commands.add_parser("vapid-keys", help="print a new Web Push (VAPID) key pair for SCOREBOARD_VAPID_PRIVATE_KEY")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "vapid-keys":
        from .notify.vapid import print_new_keys

        return print_new_keys()
    if args.command == "replay":
        from .replay import run_replay

        return run_replay(args)
    try:
        settings = load_settings(vars(args))
    except SettingsError as exc:
        print(f"scoreboard: bad setting: {exc}", file=sys.stderr)
        return 2
    from .server import serve

    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
