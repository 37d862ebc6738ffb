"""The `wellqueue token issue|verify` and `wellqueue audit` subcommands: argument parsers and handlers."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import redis

from ..auth.audit import MAX_PAGE, AuditEntry, AuditLog
from ..auth.identity import LOCAL_DEV, Identity, Role
from ..auth.permissions import Action, PermissionDenied, check
from ..auth.secrets import SigningKey, SigningKeyError, is_dev_mode, load_signing_key
from ..auth.tokens import (
    CLI_TOKEN_WARNING,
    TOKEN_ENV,
    AuthRequired,
    TokenError,
    default_token_file,
    issue_token,
    read_claims,
    resolve_token,
)
from ..durations import DurationError, parse_duration
from ..jobs.key_types import explain_redis_error
from .context import CliContext

if TYPE_CHECKING:
    from ..settings import Settings


def add_token_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `token issue` and `token verify` under the CLI's subcommands."""
    parser = subparsers.add_parser("token", help="issue and check operator tokens")
    commands = parser.add_subparsers(dest="token_command", required=True, metavar="{issue,verify}")

    issue = commands.add_parser("issue", help="print a new signed token (needs ADMIN or the signing key)")
    issue.add_argument("--sub", required=True, help="who the token is for, e.g. a login name")
    issue.add_argument("--role", required=True, type=_role, help="ADMIN, OPERATOR or MANAGER")
    issue.add_argument("--org", help="limit the token to one organization's jobs")
    issue.add_argument("--ttl", type=_duration, default="8h", help="lifetime such as 30m, 8h or 2d (default 8h)")

    verify = commands.add_parser("verify", help="check a token and print who it names")
    verify.add_argument("token_to_verify", nargs="?", metavar="TOKEN", help="default: your own token")
    return parser


def add_audit_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `audit [--json] [--limit N] [--before ID]`."""
    parser = subparsers.add_parser("audit", help="show recent operator actions, newest first")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of lines")
    parser.add_argument("--limit", type=_page_size, default=50, help=f"entries to show, 1-{MAX_PAGE} (default 50)")
    parser.add_argument("--before", metavar="ID", help="show entries older than this entry id (next page)")
    return parser


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `token` and `audit` for the `wellqueue` command (its parser adds `--token` to each)."""
    add_token_parser(sub).set_defaults(run=cmd_token)
    add_audit_parser(sub).set_defaults(run=cmd_audit)


def cmd_token(ctx: CliContext) -> int:
    return run_token_command(ctx.args, ctx.settings, audit=AuditLog(ctx.client, ctx.keys.audit))


def cmd_audit(ctx: CliContext) -> int:
    """Every role may read the audit, with a valid token; a token with an org sees its organization's entries."""
    session = ctx.session()
    check(session.identity, Action.VIEW_AUDIT)
    return run_audit_command(ctx.args, AuditLog(ctx.client, ctx.keys.audit), org=session.org)


def run_token_command(
    args: argparse.Namespace,
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    audit: AuditLog | None = None,
) -> int:
    """Run `token issue` or `token verify`; 0 on success, 1 when refused.

    Issuing is audited (allowed and denied) when `audit` is given; if that write fails, no token is printed.
    """
    env = os.environ if env is None else env
    cli_token = getattr(args, "token", None)
    if cli_token or getattr(args, "token_to_verify", None):
        print(CLI_TOKEN_WARNING, file=sys.stderr)
    try:
        key = load_signing_key(settings, env)
        if args.token_command == "verify" and args.token_to_verify:
            return _verify(args.token_to_verify, key, settings)
        caller_token = resolve_token(cli_token, env, default_token_file(settings))
        if args.token_command == "issue":
            return _issue(args, settings, key, caller_token, audit)
        return _verify(caller_token, key, settings)
    except (SigningKeyError, TokenError, AuthRequired, PermissionDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        print(f"error: cannot write the audit entry, so no token was issued: {exc}", file=sys.stderr)
        return 1


def run_audit_command(args: argparse.Namespace, audit: AuditLog, org: str | None = None) -> int:
    """Print recent audit entries (the caller has already been authenticated; every role may view the audit),
    only those of organization `org` when given."""
    try:
        page = audit.page(args.limit, before_id=args.before, org=org)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except redis.RedisError as exc:
        print(
            f"error: cannot read the audit stream: {explain_redis_error(audit.client, {audit.key: 'stream'}, exc)}",
            file=sys.stderr,
        )
        return 1
    entries = page.entries
    if args.json:
        print(json.dumps([asdict(entry) for entry in entries], indent=2))
    else:
        for entry in entries:
            print(_audit_line(entry))
    if page.older:
        print(f"(older entries: --before {page.older})", file=sys.stderr)
    return 0


def issuing_identity(settings: Settings, key: SigningKey, caller_token: str | None) -> Identity:
    """Who is minting (as recorded in the audit), or PermissionDenied / TokenError.

    A presented token is who you are: it must verify and be ADMIN. Holding the signing material
    overrides that, because whoever holds it can mint with any JWT library and refusing them would
    only be theatre. So minting is also allowed with no token presented (dev mode: LOCAL_DEV;
    otherwise this process loaded the key from WELLQUEUE_JWT_SECRET, the generated secret file or
    the private key file), and when the caller can read the file holding the key. That is how the
    first ADMIN token is made. What stays refused: a non-ADMIN token in a shell that merely
    inherited WELLQUEUE_JWT_SECRET.
    """
    holds_key_file = key.key_file is not None and os.access(key.key_file, os.R_OK)
    if caller_token is None:
        return LOCAL_DEV if is_dev_mode(settings) else _key_holder()
    try:
        caller = read_claims(key, caller_token).identity
    except TokenError as exc:
        if holds_key_file:
            return _key_holder()
        raise TokenError(f"your own token was refused: {exc}") from None
    if caller.role is Role.ADMIN:
        return caller
    if holds_key_file:
        return _key_holder()
    raise PermissionDenied(caller, Action.ISSUE_TOKEN)


def check_org_scope(issuer: Identity, org: str | None) -> None:
    """An org-scoped issuer may only mint tokens for its own org (never an unscoped one)."""
    if issuer.org is not None and org != issuer.org:
        raise PermissionDenied(
            issuer, Action.ISSUE_TOKEN, f"you are limited to org {issuer.org!r}: issue tokens with --org {issuer.org}"
        )


def _issue(
    args: argparse.Namespace, settings: Settings, key: SigningKey, caller_token: str | None, audit: AuditLog | None
) -> int:
    target = f"{args.sub} ({args.role}{'@' + args.org if args.org else ''})"
    try:
        issuer = issuing_identity(settings, key, caller_token)
        check_org_scope(issuer, args.org)
    except PermissionDenied as exc:
        if audit is not None:
            audit.record(exc.identity, Action.ISSUE_TOKEN, target, 0, "denied", str(exc))
        raise
    token = issue_token(key, sub=args.sub, role=args.role, org=args.org, ttl=args.ttl)
    if audit is not None:
        audit.record(issuer, Action.ISSUE_TOKEN, target, 1, "ok", f"ttl {int(args.ttl.total_seconds())}s")
    print(token)
    claims = read_claims(key, token)
    print(f"issued for {claims.identity.label}, expires {_utc(claims.exp)}", file=sys.stderr)
    return 0


def _verify(token: str | None, key: SigningKey, settings: Settings) -> int:
    if token is None:
        raise TokenError(
            f"no token to verify: pass TOKEN, set {TOKEN_ENV}, or put one in {default_token_file(settings)}"
        )
    claims = read_claims(key, token)
    print(f"valid: {claims.identity.label}, expires {_utc(claims.exp)}")
    return 0


def _key_holder() -> Identity:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return Identity(sub=f"key holder ({user})", role=Role.ADMIN)


def _audit_line(entry: AuditEntry) -> str:
    who = f"{entry.who} ({entry.role}{'@' + entry.org if entry.org else ''})"
    target = f"{entry.target}@{entry.target_org}" if entry.target_org else entry.target
    parts = [entry.id, _utc(entry.at), entry.outcome, who, entry.action, target, f"count={entry.count}"]
    if entry.detail:
        parts.append(entry.detail)
    if entry.problem:
        parts.append(f"[malformed entry: {entry.problem}]")
    return "  ".join(_printable(part) for part in parts)


def _printable(text: str) -> str:
    """Audit fields are untrusted: control and bidi characters are shown as escapes, never sent to the terminal."""
    return "".join(_escaped(char) if unicodedata.category(char) in ("Cc", "Cf") else char for char in text)


def _escaped(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _role(text: str) -> Role:
    try:
        return Role(text.strip().upper())
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown role {text[:32]!r} (use ADMIN, OPERATOR or MANAGER)") from None


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _page_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"--limit must be a whole number from 1 to {MAX_PAGE}")
    return size
