"""`wellqueue alerts …`, `wellqueue breakers …` and `wellqueue timeline`: each command registers its parser
with `add_*_parser(subparsers)` and runs with `run_*(args, session)` (an OperatorSession: permission check and
one audit entry per change). Output on stdout, errors on stderr; the return value is the exit code."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

import redis

from ..auth.permissions import Action, PermissionDenied
from ..durations import parse_duration
from ..health.alert_rules import (
    ALERT_KINDS,
    EVERY_QUEUE,
    AlertRuleError,
    AlertStore,
    build_rule,
)
from ..health.alerts import alert_history, alert_states, firing_alerts
from ..health.breaker import BreakerError, BreakerStore
from ..health.breaker_state import BreakerConfig
from ..health.timeline import summarize
from ..jobs.keys import KeySchema
from ..sanitize import safe_str
from .context import CliContext
from .output import warn

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DENIED = 0, 1, 2, 3
ALERT_PERMISSIONS = {
    "add": Action.ALERT_ADD,
    "update": Action.ALERT_UPDATE,
    "remove": Action.ALERT_REMOVE,
    "mute": Action.ALERT_MUTE,
    "unmute": Action.ALERT_UNMUTE,
}


# --- parsers ----------------------------------------------------------------------------------------------


def add_alerts_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`alerts` (no action: the alerts firing now) and list|add|update|remove|mute|unmute|history."""
    parser = subparsers.add_parser(
        "alerts",
        help="firing alerts, alert rules and their history",
        description="Without an action: the alerts firing now.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="alert_action", metavar="ACTION")
    actions.add_parser("list", help="every rule with its state per queue").add_argument("--json", action="store_true")
    history = actions.add_parser("history", help="firings and resolutions, newest first")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--json", action="store_true")
    for name, text in (("add", "create a rule"), ("update", "change a rule")):
        rule = actions.add_parser(name, help=text)
        rule.add_argument("name")
        _rule_options(rule, adding=name == "add")
    actions.add_parser("remove", help="delete a rule and its state").add_argument("name")
    mute = actions.add_parser("mute", help="hold back a rule's notifications for a while")
    mute.add_argument("name")
    mute.add_argument("--for", dest="duration", required=True, help="how long, e.g. 30m or 2h")
    actions.add_parser("unmute", help="notify again").add_argument("name")
    return parser


def _rule_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    parser.add_argument("--kind", choices=ALERT_KINDS, required=adding)
    parser.add_argument("--queue", help=f"queue name, or {EVERY_QUEUE} for every queue (default)")
    parser.add_argument("--threshold", help="fires above this: jobs, seconds, or a share such as 10%%")
    parser.add_argument("--resolve-below", help="resolves at or below this (default: a little under the threshold)")
    parser.add_argument("--window", help="failure_rate window, e.g. 5m")
    parser.add_argument("--min-samples", type=int, help="failure_rate: finished attempts needed to judge")
    parser.add_argument("--for", dest="for_", help="the condition must hold this long before firing, e.g. 30s")
    parser.add_argument("--clear-for", help="it must stay clear this long before resolving, e.g. 1m")
    parser.add_argument("--recipient", action="append", help="e-mail address to notify (repeat for more)")
    parser.add_argument("--webhook", help="https URL to notify with a signed webhook")
    parser.add_argument("--description")
    parser.add_argument("--disabled", action="store_true", default=None, help="keep the rule but do not evaluate it")


def add_breakers_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """`breakers` (no action: list) and set|remove."""
    parser = subparsers.add_parser(
        "breakers", help="circuit breakers per queue", description="Without an action: every breaker with its state."
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="breaker_action", metavar="ACTION")
    configure = actions.add_parser("set", help="add or change a queue's breaker")
    configure.add_argument("queue")
    configure.add_argument("--failure-rate", default="50%", help="opens at this failed share (default 50%%)")
    configure.add_argument("--window", default="1m", help="over this window (minutes; default 1m)")
    configure.add_argument("--min-samples", type=int, default=5, help="finished attempts needed (default 5)")
    configure.add_argument("--cooldown", default="30s", help="paused this long before one probe job (default 30s)")
    configure.add_argument("--max-cooldown", default="10m", help="cap of the doubling cool-down (default 10m)")
    configure.add_argument(
        "--per-destination",
        action="store_true",
        help="one breaker per outside service the jobs call (a webhook's host): hold back only its jobs",
    )
    configure.add_argument("--disabled", action="store_true")
    actions.add_parser("remove", help="remove a queue's breaker (a paused queue stays paused)").add_argument("queue")
    return parser


def add_timeline_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("timeline", help="what happened recently, newest first")
    parser.add_argument("--since", default="2h", help="how far back, e.g. 30m, 2h, 1d (default 2h)")
    parser.add_argument("--queue", help="only events about this queue (and cluster-wide ones)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--summary", action="store_true", help="a redacted plain-text summary for a ticket")
    return parser


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `alerts`, `breakers` and `timeline` for the `wellqueue` command."""
    add_alerts_parser(sub).set_defaults(run=cmd_alerts)
    add_breakers_parser(sub).set_defaults(run=cmd_breakers)
    add_timeline_parser(sub).set_defaults(run=cmd_timeline)


def cmd_alerts(ctx: CliContext) -> int:
    return run_alerts(ctx.args, ctx.session())


def cmd_breakers(ctx: CliContext) -> int:
    return run_breakers(ctx.args, ctx.session())


def cmd_timeline(ctx: CliContext) -> int:
    return run_timeline(ctx.args, ctx.session())


def queue_health_dicts(session, queues: list[str]) -> dict[str, dict]:
    """`wellqueue stats --json`'s health figures per queue, with the breaker state and the firing alerts;
    empty for a token with an org (the figures cover every organization)."""
    figures = session.queue_health(queues)
    if not figures:
        return {}
    breakers = session.breakers()
    firing: dict[str, list[str]] = {}
    for alert in session.firing_alerts():
        firing.setdefault(alert.queue, []).append(alert.rule)
    return {
        item.queue: {
            **item.as_dict(),
            "breaker": breakers[item.queue].status if item.queue in breakers else None,
            "firing_alerts": sorted(firing.get(item.queue, [])),
        }
        for item in figures
    }


# --- runners ----------------------------------------------------------------------------------------------


def _audited(session, action: Action, target: str, run) -> int:
    """Run a change through the session's permission check and audit; an audit that failed is said on stderr."""
    code, warning = session.audited(action, target, run)
    warn(warning)
    return code


def run_alerts(args: argparse.Namespace, session) -> int:
    action = getattr(args, "alert_action", None)
    client, keys = session.registry.client, session.registry.keys
    store = AlertStore(client, keys)
    try:
        if action in ALERT_PERMISSIONS:
            return _audited(
                session, ALERT_PERMISSIONS[action], args.name, lambda: _change_rule(args, action, store, client)
            )
        if action == "list":
            return _list_rules(args, store, client, keys)
        if action == "history":
            return _history(args, client, keys)
        return _firing(args, client, keys)
    except PermissionDenied as exc:
        return _fail(str(exc), EXIT_DENIED)
    except redis.RedisError as exc:
        return _fail(f"Redis: {exc}", EXIT_FAILED)


def run_breakers(args: argparse.Namespace, session) -> int:
    action = getattr(args, "breaker_action", None)
    store = BreakerStore(session.registry.client, session.registry.keys)
    try:
        if action in ("set", "remove"):
            return _audited(session, Action.BREAKER_CONFIGURE, args.queue, lambda: _change_breaker(args, action, store))
        return _list_breakers(args, store)
    except PermissionDenied as exc:
        return _fail(str(exc), EXIT_DENIED)
    except redis.RedisError as exc:
        return _fail(f"Redis: {exc}", EXIT_FAILED)


def run_timeline(args: argparse.Namespace, session) -> int:
    try:
        events = session.timeline(parse_duration(args.since).total_seconds(), args.queue)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except redis.RedisError as exc:
        return _fail(f"Redis: {exc}", EXIT_FAILED)
    if args.json:
        print(json.dumps([event.as_dict() for event in events], indent=2))
    elif args.summary:
        print(summarize(events))
    else:
        for event in events:
            where = f"[{event.queue}] " if event.queue else ""
            print(safe_str(f"{_stamp(event.at)}  {event.kind:<13} {where}{event.summary}", 400))
        if not events:
            print(f"nothing happened in the last {args.since}")
    return EXIT_OK


# --- alerts -----------------------------------------------------------------------------------------------


def _firing(args: argparse.Namespace, client: redis.Redis, keys: KeySchema) -> int:
    states = firing_alerts(client, keys)
    if args.json:
        print(json.dumps([state.model_dump(mode="json") for state in states], indent=2))
        return EXIT_OK
    for state in states:
        print(
            safe_str(
                f"FIRING {state.rule} on {state.queue}: value {_value(state.value)} since {_stamp(state.fired_at)}", 300
            )
        )
    if not states:
        print("no alert is firing")
    return EXIT_OK


def _list_rules(args: argparse.Namespace, store: AlertStore, client: redis.Redis, keys: KeySchema) -> int:
    rules = store.list()
    states: dict[str, list] = {}
    for state in alert_states(client, keys):
        states.setdefault(state.rule, []).append(state)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **rule.model_dump(mode="json"),
                        "states": [s.model_dump(mode="json") for s in states.get(rule.name, [])],
                    }
                    for rule in rules
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for rule in rules:
        firing = [s.queue for s in states.get(rule.name, []) if s.firing]
        flags = [] if rule.enabled else ["disabled"]
        if rule.muted_until:
            flags.append(f"muted until {_stamp(rule.muted_until)}")
        status = f"FIRING on {', '.join(firing)}" if firing else "ok"
        print(
            safe_str(
                f"{rule.name:<20} {rule.describe():<55} {status}" + (f" ({'; '.join(flags)})" if flags else ""), 300
            )
        )
    if not rules:
        print("no alert rules; add one with `wellqueue alerts add NAME --kind ...`")
    return EXIT_OK


def _history(args: argparse.Namespace, client: redis.Redis, keys: KeySchema) -> int:
    entries = alert_history(client, keys, max(1, min(args.limit, 1000)))
    if args.json:
        print(json.dumps([entry.__dict__ for entry in entries], indent=2))
        return EXIT_OK
    for entry in entries:
        print(
            safe_str(
                f"{_stamp(entry.at)}  {entry.event:<8} {entry.rule} on {entry.queue} "
                f"(value {_value(entry.value)}): {entry.detail}",
                300,
            )
        )
    return EXIT_OK


def _change_rule(args: argparse.Namespace, action: str, store: AlertStore, client: redis.Redis) -> int:
    try:
        if action == "add":
            rule = store.add(build_rule(name=args.name, **_rule_fields(args)))
        elif action == "update":
            rule = store.update(args.name, **_rule_fields(args))
        elif action == "remove":
            store.remove(args.name)
            print(f"alert rule {args.name} removed")
            return EXIT_OK
        elif action == "mute":
            seconds, micros = client.time()
            rule = store.mute(args.name, seconds + micros / 1e6 + parse_duration(args.duration).total_seconds())
        else:
            rule = store.unmute(args.name)
    except (AlertRuleError, ValueError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    print(
        safe_str(
            f"alert rule {rule.name}: {rule.describe()}"
            + (f", muted until {_stamp(rule.muted_until)}" if rule.muted_until else ""),
            300,
        )
    )
    return EXIT_OK


def _rule_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line, as rule fields (units parsed)."""
    fields: dict[str, Any] = {}
    if args.kind is not None:
        fields["kind"] = args.kind
    if args.queue is not None:
        fields["queue"] = args.queue
    for option, name in (("threshold", "threshold"), ("resolve_below", "resolve_below")):
        if getattr(args, option) is not None:
            fields[name] = _number(getattr(args, option), f"--{option.replace('_', '-')}")
    if args.window is not None:
        fields["window_minutes"] = max(1, round(parse_duration(args.window).total_seconds() / 60))
    if args.min_samples is not None:
        fields["min_samples"] = args.min_samples
    if args.for_ is not None:
        fields["for_s"] = parse_duration(args.for_).total_seconds()
    if args.clear_for is not None:
        fields["clear_for_s"] = parse_duration(args.clear_for).total_seconds()
    if args.recipient is not None:
        fields["recipients"] = args.recipient
    if args.webhook is not None:
        fields["webhook_url"] = args.webhook or None
    if args.description is not None:
        fields["description"] = args.description
    if args.disabled:
        fields["enabled"] = False
    return fields


# --- breakers ---------------------------------------------------------------------------------------------


def _list_breakers(args: argparse.Namespace, store: BreakerStore) -> int:
    configs, states = store.configs(), store.states()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **c.model_dump(mode="json"),
                        "state": states[c.queue].model_dump(mode="json") if c.queue in states else None,
                        "destinations": {
                            target.partition("@")[2]: state.model_dump(mode="json")
                            for target, state in states.items()
                            if target.startswith(f"{c.queue}@")
                        },
                    }
                    for c in configs
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for config in configs:
        state = states.get(config.queue)
        status = state.status.replace("_", "-") if state else "closed"
        reason = f" ({state.reason})" if state and state.reason else ""
        print(
            safe_str(
                f"{config.queue:<24} {status:<10} opens at {config.failure_rate:.0%} of >= {config.min_samples} "
                f"in {config.window_minutes} min, cool-down {config.cooldown_s:g}-{config.max_cooldown_s:g} s"
                f"{' per destination' if config.per_destination else ''}"
                f"{'' if config.enabled else ' [disabled]'}{reason}",
                300,
            )
        )
        for target, held in sorted(states.items()):
            if target.startswith(f"{config.queue}@"):
                line = f"  {target.partition('@')[2]:<22} {held.status.replace('_', '-'):<10} ({held.reason})"
                print(safe_str(line, 300))
    if not configs:
        print("no circuit breakers; add one with `wellqueue breakers set QUEUE`")
    return EXIT_OK


def _change_breaker(args: argparse.Namespace, action: str, store: BreakerStore) -> int:
    try:
        if action == "remove":
            store.remove(args.queue)
            print(f"circuit breaker on {args.queue} removed")
            return EXIT_OK
        config = BreakerConfig(
            queue=args.queue,
            failure_rate=_number(args.failure_rate, "--failure-rate"),
            window_minutes=max(1, round(parse_duration(args.window).total_seconds() / 60)),
            min_samples=args.min_samples,
            cooldown_s=parse_duration(args.cooldown).total_seconds(),
            max_cooldown_s=parse_duration(args.max_cooldown).total_seconds(),
            per_destination=args.per_destination,
            enabled=not args.disabled,
        )
    except (BreakerError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return _fail(safe_str(exc, 500), EXIT_BAD_INPUT)
    store.configure(config)
    print(f"circuit breaker on {config.queue}: opens at {config.failure_rate:.0%} failed")
    return EXIT_OK


# --- helpers ----------------------------------------------------------------------------------------------


def _number(text: str, option: str) -> float:
    """A plain number, or a percentage such as 10% (= 0.1)."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{option} must be a number or a percentage such as 10%, got {safe_str(text, 40)!r}") from None


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _stamp(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
