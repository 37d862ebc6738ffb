"""`wellqueue`: the console with its workers, `--workers-only` for servers, and the operator subcommands.

Reads print tables (or JSON with `--json`); mutating commands go through the operator session, so
they pass the permission table and are audited. Errors go to stderr with a non-zero exit code."""

from __future__ import annotations

import os
import sys

import redis

from ..auth.permissions import PermissionDenied
from ..auth.tokens import AuthRequired, TokenError
from ..connection import UnsafeRedisConfig
from ..durations import DurationError
from ..jobs.actions import ActionError
from ..jobs.registry import UnknownState
from ..redis_server import RedisNotAvailable, RedisStartError
from ..settings import SettingsError
from .context import EXIT_USAGE, CliContext, CliError
from .output import printable
from .parser import build_parser

__all__ = ["EXIT_USAGE", "CliContext", "CliError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = CliContext(args)
    try:
        code = args.run(ctx)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader left (`| head`). As the Python docs recommend: point stdout at devnull so the flush at
        # exit cannot raise again, and exit 1.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except CliError as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return exc.code
    except (SettingsError, UnknownState, DurationError) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # EnqueueError and other bad input
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except (ActionError, PermissionDenied, AuthRequired, TokenError) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return 1
    except (RedisNotAvailable, RedisStartError, UnsafeRedisConfig) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return 3
    except redis.ResponseError as exc:  # Redis answered, but refused: name the key at fault where one is
        print(f"error: {ctx.redis_label()} refused a command: {ctx.explain_redis_error(exc)}", file=sys.stderr)
        return 3
    except redis.RedisError as exc:
        print(f"error: {ctx.redis_label()} is unreachable or failed: {exc}", file=sys.stderr)
        return 3
    finally:
        ctx.close()
