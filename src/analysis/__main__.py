"""``python -m analysis <command>``: the project's command line (also ``pemda-wfa``)."""

from __future__ import annotations

import argparse
import importlib
import sys

from analysis.cli import COMMANDS, EXIT_USAGE
from analysis.errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description=(
            "Pemda WFA study: simulate the synthetic national dataset, validate input data "
            "against the data contract, and build every report."
        ),
        epilog="Exit codes: 0 ok, 1 data problems found, 2 usage error or unreadable input.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command not built (yet) in this checkout
            raise
        command_parser = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.configure(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
