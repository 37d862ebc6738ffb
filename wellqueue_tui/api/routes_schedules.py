"""`/api/jobs/schedules`: list, create, update and remove cron schedules (edits are ADMIN only, audited)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel

from ..auth.permissions import Action
from ..session import OperatorSession
from ..workers.schedules import ScheduleStatus, schedule_status
from .bodies import read_model
from .endpoints import Endpoint
from .errors import ApiError
from .models import ActionOut, ScheduleCreate, ScheduleUpdate
from .responses import action_reply, reply
from .services import services_of

SCHEDULE = "/api/jobs/schedules/{name}"


class ScheduleList(BaseModel):
    schedules: list[ScheduleStatus]


async def list_schedules(request: web.Request) -> web.Response:
    rows = await services_of(request).operate(request, lambda s: s.schedules())
    return reply(ScheduleList(schedules=rows))


async def create_schedule(request: web.Request) -> web.Response:
    services = services_of(request)
    identity = services.verifier.identify(request)
    body = await read_model(request, ScheduleCreate)

    def work(session: OperatorSession) -> ScheduleStatus:
        if session.can(Action.SCHEDULE_ADD) and session.schedule_store.get(body.name) is not None:
            raise ApiError(
                409,
                "conflict",
                f"schedule {body.name!r} exists already; PUT {SCHEDULE.format(name=body.name)} changes it",
                field="name",
            )
        session.add_schedule(body.fields())
        return _status(session, body.name)

    return reply(await services.run(work, services.session(identity)), 201)


async def update_schedule(request: web.Request) -> web.Response:
    services, name = services_of(request), request.match_info["name"]
    identity = services.verifier.identify(request)
    body = await read_model(request, ScheduleUpdate)
    changes = body.changes()
    if not changes:
        raise ApiError(
            422,
            "invalid",
            "nothing to change; send one or more of cron, queue, payload, timezone, enabled, description",
        )

    def work(session: OperatorSession) -> ScheduleStatus:
        session.update_schedule(name, changes)
        return _status(session, name)

    return reply(await services.run(work, services.session(identity)))


async def remove_schedule(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return action_reply(await services_of(request).operate(request, lambda s: s.remove_schedule(name)))


def _status(session: OperatorSession, name: str) -> ScheduleStatus:
    store = session.schedule_store
    return schedule_status(store.require(name), store.state(name), datetime.now(UTC))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/jobs/schedules",
        list_schedules,
        "Every schedule with its next and last run",
        "schedules",
        response=ScheduleList,
    ),
    Endpoint(
        "POST",
        "/api/jobs/schedules",
        create_schedule,
        "Create a cron schedule",
        "schedules",
        ok=201,
        response=ScheduleStatus,
        body=ScheduleCreate,
        action=Action.SCHEDULE_ADD,
        errors=(400, 409, 413, 415, 422),
    ),
    Endpoint(
        "PUT",
        SCHEDULE,
        update_schedule,
        "Change some fields of a schedule",
        "schedules",
        response=ScheduleStatus,
        body=ScheduleUpdate,
        action=Action.SCHEDULE_UPDATE,
        errors=(400, 404, 413, 415, 422),
    ),
    Endpoint(
        "DELETE",
        SCHEDULE,
        remove_schedule,
        "Remove a schedule",
        "schedules",
        response=ActionOut,
        action=Action.SCHEDULE_REMOVE,
        errors=(404,),
    ),
]
