"""The OpenAPI 3.1 document, built from the endpoint table and the same pydantic models that validate
requests; the enqueue body's `data` is each queue's own payload model."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..auth.permissions import roles_allowed
from ..jobs import JobKind, all_kinds
from .endpoints import Endpoint
from .models import EnqueueRequest, ErrorOut, JobOptionsIn

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "the body is not JSON (or a token was put in the URL)",
    401: "no token, or the token is invalid or expired",
    403: "the token's role or organization may not do this",
    404: "no such queue, job or schedule (another organization's job is not found either)",
    409: "the job or schedule is not in a state that allows this, or the id is taken",
    413: "the body is larger than 1 MiB",
    415: "the body is not sent as application/json",
    422: "the body or query is invalid; `field` names the field",
    503: "Redis cannot be reached",
}
_PATH_PARAMETER = re.compile(r"{(\w+)}")


def endpoints() -> list[Endpoint]:
    from . import routes_jobs, routes_schedules, routes_system

    return [*routes_jobs.ENDPOINTS, *routes_system.ENDPOINTS, *routes_schedules.ENDPOINTS]


@cache
def openapi_document(kinds: tuple[JobKind, ...] | None = None) -> dict[str, Any]:
    """The whole document; `kinds` (default: the built-in ones) give the enqueue payload schemas."""
    kinds = kinds if kinds is not None else tuple(all_kinds().values())
    table = endpoints()
    models: list[type[BaseModel]] = [ErrorOut, JobOptionsIn, *(kind.payload for kind in kinds)]
    for endpoint in table:
        models += [m for m in (endpoint.body, endpoint.response) if isinstance(m, type) and issubclass(m, BaseModel)]
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
    names = {model: schema["$ref"].rsplit("/", 1)[1] for (model, _mode), schema in refs.items()}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in table:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, names, kinds)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WellQueue jobs API",
            "version": __version__,
            "description": "Queues, jobs and schedules of WellQueue, at the paths WellFlow's `/api/jobs/*` "
            "used. Every call but health and this document needs `Authorization: Bearer <JWT>`.",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearerAuth": []}],
    }


def _operation(endpoint: Endpoint, names: dict[type, str], kinds: tuple[JobKind, ...]) -> dict[str, Any]:
    roles = ", ".join(roles_allowed(endpoint.action)) if endpoint.action else "any role"
    operation: dict[str, Any] = {
        "operationId": endpoint.method.lower() + "_" + re.sub(r"\W+", "_", endpoint.path.strip("/")).strip("_"),
        "summary": endpoint.summary,
        "description": "No token needed." if endpoint.public else f"Roles: {roles}.",
        "tags": [endpoint.tag],
        "responses": _responses(endpoint, names),
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query)
    if parameters:
        operation["parameters"] = parameters
    if endpoint.public:
        operation["security"] = []
    if endpoint.body is EnqueueRequest:
        operation["requestBody"] = _enqueue_body(names, kinds)
    elif endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body, names)}},
        }
    return operation


def _responses(endpoint: Endpoint, names: dict[type, str]) -> dict[str, Any]:
    if endpoint.media != "application/json":
        content = {endpoint.media: {"schema": {"type": "string"}}}
    elif endpoint.response is not None:
        content = {"application/json": {"schema": _ref(endpoint.response, names)}}
    else:
        content = {"application/json": {"schema": {"type": "object"}}}
    responses: dict[str, Any] = {str(endpoint.ok): {"description": "done", "content": content}}
    if endpoint.ok == 201:
        responses["200"] = {"description": "the job or schedule existed already", "content": content}
    statuses = set(endpoint.errors) | {503}
    if not endpoint.public:
        statuses |= {401, 403}
    error = {"application/json": {"schema": {"$ref": REF.format(model=names[ErrorOut])}}}
    for status in sorted(statuses):
        if str(status) not in responses:
            same_body = endpoint.public and status == 503 and endpoint.response is not None
            responses[str(status)] = {"description": ERROR_TEXT[status], "content": content if same_body else error}
    return responses


def _ref(model: type[BaseModel], names: dict[type, str]) -> dict[str, str]:
    return {"$ref": REF.format(model=names[model])}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    parameters = []
    for name, field in model.model_fields.items():
        aliases = field.validation_alias.choices if isinstance(field.validation_alias, AliasChoices) else [name]
        for alias in aliases:
            property_schema = dict(schema["properties"].get(alias) or schema["properties"][name])
            property_schema.pop("title", None)
            parameter = {"name": alias, "in": "query", "required": False, "schema": property_schema}
            if alias != aliases[0]:
                parameter["description"] = f"the same as `{aliases[0]}`"
            parameters.append(parameter)
    return parameters


def _enqueue_body(names: dict[type, str], kinds: tuple[JobKind, ...]) -> dict[str, Any]:
    payloads = {kind.queue: _ref(kind.payload, names) for kind in kinds}
    return {
        "required": True,
        "description": "`data` is checked against the payload model of the queue named in the path: "
        + ", ".join(f"{queue}: {ref['$ref'].rsplit('/', 1)[1]}" for queue, ref in payloads.items()),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["data"],
                    "properties": {
                        "data": {"anyOf": list(payloads.values())},
                        "opts": _ref(JobOptionsIn, names),
                    },
                }
            }
        },
        "x-payload-models": payloads,
    }
