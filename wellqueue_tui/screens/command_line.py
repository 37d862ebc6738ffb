"""The `:` command line, as in k9s: what it understands, how Tab completes it, and what a typed line means.

Pure functions over the known queue names and the commands the console can run now; the command screen
shows their answers and the app runs the `Command` they return."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandSpec:
    """One command: its name, what it takes (`QUEUE`, `ID`, `TEXT` or nothing), and what it does."""

    name: str
    argument: str
    help: str
    aliases: tuple[str, ...] = ()


#: Every command the line knows, in the order the hints list them.
COMMANDS = (
    CommandSpec("q", "QUEUE", "open a queue", ("queue",)),
    CommandSpec("job", "ID", "open a job by its id"),
    CommandSpec("new", "QUEUE", "add a job to a queue (starts from a valid example)"),
    CommandSpec("search", "TEXT", "search every queue (error:… well:… state:… as / does)"),
    CommandSpec("workers", "", "worker processes on every host"),
    CommandSpec("schedules", "", "cron schedules"),
    CommandSpec("audit", "", "who did what"),
    CommandSpec("failures", "", "failed jobs of every queue grouped by cause"),
)


@dataclass(frozen=True)
class Command:
    """A line the console can run: the command's name and its argument ("" for none)."""

    name: str
    argument: str = ""


class CommandError(ValueError):
    """A line that cannot run; the message says why and what to type instead."""


def spec_named(word: str, available: set[str]) -> CommandSpec | None:
    return next((spec for spec in COMMANDS if spec.name in available and word in (spec.name, *spec.aliases)), None)


def parse(line: str, queues: list[str], available: set[str]) -> Command:
    """The command `line` asks for, or a `CommandError` naming what is wrong."""
    word, _, rest = line.strip().partition(" ")
    argument = rest.strip()
    if not word:
        raise CommandError("type a command: " + ", ".join(spec.name for spec in COMMANDS if spec.name in available))
    spec = spec_named(word, available)
    if spec is None:
        known = ", ".join(spec.name for spec in COMMANDS if spec.name in available)
        raise CommandError(f"no command {word!r} here; try {known}")
    if spec.argument and not argument:
        raise CommandError(f"{spec.name} needs a {spec.argument.lower()}: {spec.name} {spec.argument}")
    if not spec.argument and argument:
        raise CommandError(f"{spec.name} takes nothing after it")
    if spec.argument == "QUEUE" and argument not in queues:
        close = [queue for queue in queues if queue.startswith(argument)]
        if len(close) == 1:
            argument = close[0]  # an unambiguous start is enough, as with Tab
        else:
            hint = f"; did you mean {', '.join(close[:5])}?" if close else "; Tab lists the queues"
            raise CommandError(f"no queue named {argument!r}{hint}")
    return Command(spec.name, argument)


def candidates(line: str, queues: list[str], available: set[str]) -> list[str]:
    """What the word being typed may become: command names, or queue names after `q `."""
    word, space, rest = line.lstrip().partition(" ")
    if not space:
        names = [spec.name for spec in COMMANDS if spec.name in available]
        return [name for name in names if name.startswith(word)]
    spec = spec_named(word, available)
    if spec is not None and spec.argument == "QUEUE":
        return [queue for queue in queues if queue.startswith(rest.strip())]
    return []


def complete(line: str, queues: list[str], available: set[str]) -> str:
    """`line` with the word being typed completed as far as it is unambiguous (a space after a whole command
    that takes an argument); unchanged when nothing fits."""
    options = candidates(line, queues, available)
    if not options:
        return line
    word, space, _rest = line.lstrip().partition(" ")
    common = os.path.commonprefix(options)  # noqa: RUF071 -- completion extends the typed text character by character
    if not space:
        spec = spec_named(common, available) if len(options) == 1 else None
        return common + (" " if spec is not None and spec.argument else "")
    return f"{word} {common}"
