"""Every API failure as one JSON shape, `{"error": code, "detail": sentence, "field": name?}`, and the
middleware that turns exceptions (refusals, bad input, Redis outages) into it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import redis
from aiohttp import web
from pydantic import ValidationError

from ..auth.permissions import PermissionDenied
from ..jobs import EnqueueError, describe_validation
from ..jobs.actions import ActionError
from ..sanitize import safe_str
from ..workers.schedules import ScheduleError, ScheduleNotFound

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """A refusal with its HTTP status; `detail` is for people, `error` for programs."""

    def __init__(
        self, status: int, error: str, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field
        self.headers = headers or {}


class InvalidInput(ApiError, ValueError):
    """Bad input found inside an audited action: a ValueError, so the session records the attempt as failed."""


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{safe_str(what, 300)} not found")


def json_error(
    status: int, error: str, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body: dict[str, str] = {"error": error, "detail": detail}
    if field:
        body["field"] = field
    return web.json_response(body, status=status, headers=headers, dumps=json.dumps)


def invalid(exc: ValidationError, prefix: str = "") -> InvalidInput:
    """A pydantic refusal as a 422 naming the first bad field (`prefix` places it in the body, e.g. `data.`)."""
    first = exc.errors()[0]["loc"] if exc.errors() else ()
    field = prefix + ".".join(str(part) for part in first) if first else prefix.rstrip(".") or None
    detail = describe_validation(exc)
    if prefix:
        detail = "; ".join(prefix + part for part in detail.split("; "))
    return InvalidInput(422, "invalid", detail, field=safe_str(field, 120) if field else None)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under /api/, answer every failure with the JSON error shape; elsewhere leave responses alone."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.error, exc.detail, field=exc.field, headers=exc.headers)
    except PermissionDenied as exc:
        return json_error(403, "forbidden", safe_str(exc, 500))
    except ActionError as exc:  # the job or queue is not in a state that allows it (any more)
        return json_error(409, "conflict", safe_str(exc, 500))
    except ScheduleNotFound as exc:
        return json_error(404, "not_found", safe_str(exc, 500))
    except (ScheduleError, EnqueueError) as exc:
        return json_error(422, "invalid", safe_str(exc, 1000))
    except ValidationError as exc:
        error = invalid(exc)
        return json_error(error.status, error.error, error.detail, field=error.field)
    except redis.RedisError as exc:
        log.warning("API %s %s: Redis unavailable: %s", request.method, request.path, exc)
        return json_error(
            503, "redis_unavailable", "Redis cannot be reached; try again shortly", headers={"Retry-After": "5"}
        )
    except web.HTTPException as exc:
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_error(exc.status, _http_error_code(exc.status), _http_detail(exc, request), headers=headers)
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return json_error(500, "internal", "the server failed to handle this request; see its log")


def _http_error_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "http_error")


def _http_detail(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"no endpoint {safe_str(request.path, 200)}; see /api/jobs/openapi.json"
    if exc.status == 405:
        return f"{request.method} is not allowed here; allowed: {exc.headers.get('Allow', '-')}"
    return safe_str(exc.reason, 200)
