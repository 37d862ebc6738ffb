"""The `wellqueue` argument parser: the console's options, every command, and `--token` on each of them."""

from __future__ import annotations

import argparse
from typing import Any

from . import console, failures, fleet, health, jobs, limits, schedules, tokens

DESCRIPTION = "`wellqueue`: the console with its workers, `--workers-only` for servers, and the operator subcommands."

TOKEN_HELP = (
    "operator JWT (prefer WELLQUEUE_TOKEN or the token file: a command-line token shows in ps and shell history)"
)


class CommandParser(argparse.ArgumentParser):
    """A parser that takes `--token` wherever it appears: before the command, after it, or after its action.

    Subcommand parsers are built with the parent's class, so each level gets the option. Its default is
    SUPPRESS so a level where it is absent never overwrites a token given at another level."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--token", default=argparse.SUPPRESS, help=TOKEN_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="wellqueue", description=DESCRIPTION)
    console.add_console_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    jobs.add_commands(sub)
    fleet.add_commands(sub)
    console.add_commands(sub)
    schedules.add_commands(sub)
    tokens.add_commands(sub)
    health.add_commands(sub)
    failures.add_commands(sub)
    limits.add_commands(sub)
    return parser
