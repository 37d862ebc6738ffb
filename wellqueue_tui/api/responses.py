"""Success bodies: pydantic models (or plain dicts) as JSON."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from ..jobs.actions import ActionResult
from .models import ActionOut


def reply(body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return web.json_response(data, status=status, headers=headers, dumps=json.dumps)


def action_reply(result: ActionResult) -> web.Response:
    return reply(ActionOut(action=result.action, target=result.target, count=result.count, message=result.message))
