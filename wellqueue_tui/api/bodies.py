"""Request bodies: at most 1 MiB of JSON (application/json), parsed into a request model or refused with a
JSON error that names what is wrong."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from .errors import ApiError, invalid

MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024
Model = TypeVar("Model", bound=BaseModel)


def too_large() -> ApiError:
    return ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes (1 MiB)")


async def read_body(request: web.Request) -> bytes:
    """The raw body, refused with 413 as soon as it passes MAX_BODY_BYTES (declared or actually sent)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, content_type: str) -> Any:
    """A non-empty body as JSON, or a 415/400 ApiError saying what is wrong with it."""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from None


async def read_model(request: web.Request, model: type[Model], *, required: bool = True) -> Model:
    """The body validated into `model` (unknown fields and wrong types are 422s naming the field); an empty
    body is a 400 when `required`, else the model's defaults."""
    body = await read_body(request)
    if body.strip():
        value = parse_json(body, request.content_type)
    elif required:
        raise ApiError(400, "empty_body", "the body is empty; send a JSON object")
    else:
        value = {}
    if not isinstance(value, dict):
        raise ApiError(422, "invalid", f"the body must be a JSON object, not {_json_type(value)}")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise invalid(exc) from None
    except RecursionError:
        raise ApiError(422, "invalid", "the body is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
