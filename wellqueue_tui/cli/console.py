"""`wellqueue` with no command (the console with this host's workers, or `--workers-only` for servers) and
`wellqueue serve` (the console in a browser)."""

from __future__ import annotations

import argparse
import sys

from .context import CliContext


def cmd_console(ctx: CliContext) -> int:
    if ctx.args.workers_only:
        from ..workers.headless import run_workers_only

        return run_workers_only(
            ctx.settings,
            log_format=ctx.args.log_format,
            metrics_port=ctx.args.metrics_port,
            with_scheduler=not ctx.args.no_scheduler,
        )
    from ..console import run_console

    return run_console(ctx.settings, ctx.identity(), ctx.url, with_workers=not ctx.args.no_workers)


def cmd_serve(ctx: CliContext) -> int:
    from ..web import serve

    if ctx.args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {ctx.args.host}: put TLS in front (a reverse proxy); tokens cross this link",
            file=sys.stderr,
        )
    ctx.client.ping()  # fail here, clearly, rather than in every browser session
    serve(ctx.args.host, ctx.args.port, api_only=ctx.args.api_only)
    return 0


def add_console_options(parser: argparse.ArgumentParser) -> None:
    """The options of `wellqueue` itself, and running the console when no command is given."""
    parser.add_argument(
        "--workers-only", action="store_true", help="run the supervisor and scheduler without the console"
    )
    parser.add_argument("--no-workers", action="store_true", help="console only: supervise no workers on this host")
    parser.add_argument(
        "--no-scheduler", action="store_true", help="with --workers-only: do not run the cron scheduler"
    )
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT")
    parser.set_defaults(run=cmd_console)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `serve`."""
    p = sub.add_parser(
        "serve", help="the console in a browser (each session signs in with a token) and the REST API on one port"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3003)
    p.add_argument("--api-only", action="store_true", help="serve only the REST API (/api/jobs/*), no console")
    p.set_defaults(run=cmd_serve)
