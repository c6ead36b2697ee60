"""``python -m bench COMMAND [options]``: run one benchmark; results are JSON lines on stdout.

Each benchmark is a module listed in :data:`COMMANDS` with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int`` (the exit status). Modules must import
anything heavy inside ``run``: all of them are imported to build the command line.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

# Subcommand name -> module. Add a benchmark by adding its line here.
COMMANDS: dict[str, str] = {
    "search": "bench.search",
    "startup": "bench.startup",
    "pgfloor": "bench.pgfloor",
    "sync": "bench.sync",
    "erasure": "bench.erasure",
    "merges": "bench.merges",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Showroom benchmarks. Each prints one JSON object per line on stdout.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = commands.add_parser(
            name,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _exit_on_terminate(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A benchmark stopped with SIGTERM (kill, timeout) unwinds like one stopped with Ctrl-C:
    # its clean-up runs (bench sync stops its server and drops its PostgreSQL database).
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
