"""`/api/jobs/queues…`: queues, pages of jobs, one job, enqueue, and the operator actions on them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from aiohttp import web
from pydantic import ValidationError

from ..auth.permissions import Action
from ..jobs import flows
from ..jobs.actions import ActionError, ActionResult
from ..jobs.flows import FlowJob, parse_flow
from ..jobs.models import JobDetail
from ..session import OperatorSession
from .bodies import read_model
from .endpoints import Endpoint
from .errors import ApiError, invalid, not_found
from .models import (
    ActionOut,
    CleanRequest,
    EnqueueOut,
    EnqueueRequest,
    FlowJobOut,
    FlowOut,
    FlowRequest,
    JobListQuery,
    JobOut,
    JobPageOut,
    QueueList,
    QueueOut,
)
from .responses import action_reply, reply
from .services import services_of

QUEUE = "/api/jobs/queues/{name}"
JOB = QUEUE + "/jobs/{id}"


async def list_queues(request: web.Request) -> web.Response:
    counts = await services_of(request).operate(request, lambda s: s.all_counts())
    return reply(
        QueueList(
            queues=[
                QueueOut(
                    name=c.queue,
                    waiting=c.waiting,
                    prioritized=c.prioritized,
                    delayed=c.delayed,
                    active=c.active,
                    completed=c.completed,
                    failed=c.failed,
                    waitingChildren=c.waiting_children,
                    paused=c.paused,
                    total=c.total,
                )
                for c in counts
            ]
        )
    )


async def list_jobs(request: web.Request) -> web.Response:
    services, name = services_of(request), request.match_info["name"]
    session = services.session(services.verifier.identify(request))  # 401 comes before a bad query's 422
    try:
        query = JobListQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise invalid(exc) from None

    def work(session: OperatorSession) -> JobPageOut:
        services.require_queue(name)
        page = session.list_jobs(name, query.state, query.offset, query.limit)
        return JobPageOut(
            queue=name, state=page.state, total=page.total, offset=page.offset, limit=query.limit, jobs=page.jobs
        )

    return reply(await services.run(work, session))


async def get_job(request: web.Request) -> web.Response:
    services, name, job_id = services_of(request), request.match_info["name"], request.match_info["id"]
    job = await services.operate(request, lambda s: _job_in_queue(s, name, job_id))
    return reply(JobOut(job=job))


async def enqueue_job(request: web.Request) -> web.Response:
    services, name = services_of(request), request.match_info["name"]
    identity = services.verifier.identify(request)  # refuse a bad token before reading the body
    if name not in services.broker.kinds:
        raise not_found(f"queue {name!r} (queues: {', '.join(sorted(services.broker.kinds))})")
    body = await read_model(request, EnqueueRequest)

    def work(session: OperatorSession) -> tuple[int, EnqueueOut]:
        result = session.enqueue_job(
            name, body.data, lambda: services.submit(name, body.data, body.opts.enqueue_options())
        )
        if result.count:
            return 201, EnqueueOut(id=result.target, queue=name, created=True)
        existing = session.get_job(result.target)
        if existing is None or existing.summary.queue != name:
            raise ApiError(
                409,
                "conflict",
                f"jobId {result.target!r} is taken by a job of another queue or organization; use another jobId",
                field="opts.jobId",
            )
        return 200, EnqueueOut(id=result.target, queue=name, created=False, job=existing)

    status, out = await services.run(work, services.session(identity))
    location = f"{QUEUE.format(name=quote(name, safe=''))}/jobs/{quote(out.id, safe='')}"
    if status == 201:
        return reply(out.model_dump(mode="json", exclude_none=True), status, headers={"Location": location})
    return reply(out, status)


async def enqueue_flow(request: web.Request) -> web.Response:
    services = services_of(request)
    identity = services.verifier.identify(request)  # refuse a bad token before reading the body
    body = await read_model(request, FlowRequest)
    spec = parse_flow(body.document())

    def work(session: OperatorSession) -> FlowJob:
        return session.enqueue_flow(spec, lambda: flows.enqueue_flow(spec, broker=services.broker))[1]

    created = await services.run(work, services.session(identity))
    out = FlowOut(created=created.created, flow=FlowJobOut.model_validate(created.as_dict()))
    return reply(out, 201 if created.created else 200)


def _job_in_queue(session: OperatorSession, queue: str, job_id: str) -> JobDetail:
    """The job, if the caller's scope can see it and it belongs to `queue`; else 404."""
    job = session.get_job(job_id)
    if job is None or job.summary.queue != queue:
        raise not_found(f"job {job_id!r} in queue {queue!r}")
    return job


def job_action(action: Action, method: Callable[[OperatorSession], Callable[[str], ActionResult]]):
    """A handler running `method(session)(job_id)` once the job is found in the queue (permission first)."""

    async def handle(request: web.Request) -> web.Response:
        services, name, job_id = services_of(request), request.match_info["name"], request.match_info["id"]

        def work(session: OperatorSession) -> ActionResult:
            if session.can(action):  # a refused role gets 403 (and an audit entry) whether or not the job exists
                _job_in_queue(session, name, job_id)
            return method(session)(job_id)

        return action_reply(await services.operate(request, work))

    return handle


def queue_action(action: Action, method: Callable[[OperatorSession], Callable[[str], ActionResult]]):
    """A handler running `method(session)(queue)` on a known queue (permission first)."""

    async def handle(request: web.Request) -> web.Response:
        services, name = services_of(request), request.match_info["name"]

        def work(session: OperatorSession) -> ActionResult:
            if session.can(action):
                services.require_queue(name)
            try:
                return method(session)(name)
            except ActionError as exc:
                if session.org and action in (Action.PAUSE, Action.RESUME):  # queue-wide: not for one tenant
                    raise ApiError(403, "forbidden", str(exc)) from None
                raise

        return action_reply(await services.operate(request, work))

    return handle


async def clean_queue(request: web.Request) -> web.Response:
    services, name = services_of(request), request.match_info["name"]
    identity = services.verifier.identify(request)
    body = await read_model(request, CleanRequest, required=False)

    def work(session: OperatorSession) -> ActionResult:
        if session.can(Action.CLEAN):
            services.require_queue(name)
        return session.clean_jobs(name, body.state, body.grace, body.limit)

    return action_reply(await services.run(work, services.session(identity)))


ENDPOINTS = [
    Endpoint(
        "GET", "/api/jobs/queues", list_queues, "Every queue with its jobs per state", "queues", response=QueueList
    ),
    Endpoint(
        "GET",
        QUEUE + "/jobs",
        list_jobs,
        "A page of a queue's jobs in one state",
        "jobs",
        response=JobPageOut,
        query=JobListQuery,
        errors=(404, 422),
    ),
    Endpoint(
        "POST",
        QUEUE + "/jobs",
        enqueue_job,
        "Add a job (the same jobId again returns the existing job)",
        "jobs",
        ok=201,
        response=EnqueueOut,
        body=EnqueueRequest,
        action=Action.ENQUEUE,
        errors=(400, 404, 409, 413, 415, 422),
    ),
    Endpoint(
        "POST",
        "/api/jobs/flows",
        enqueue_flow,
        "Add a flow: a parent job that runs once its children (and theirs) completed, with their results",
        "jobs",
        ok=201,
        response=FlowOut,
        body=FlowRequest,
        action=Action.ENQUEUE,
        errors=(400, 413, 415, 422),
    ),
    Endpoint("GET", JOB, get_job, "Everything about one job", "jobs", response=JobOut, errors=(404,)),
    Endpoint(
        "DELETE",
        JOB,
        job_action(Action.REMOVE, lambda s: s.remove_job),
        "Remove a job that is not running",
        "jobs",
        response=ActionOut,
        action=Action.REMOVE,
        errors=(404, 409),
    ),
    Endpoint(
        "POST",
        JOB + "/retry",
        job_action(Action.RETRY, lambda s: s.retry_job),
        "Retry a failed job",
        "jobs",
        response=ActionOut,
        action=Action.RETRY,
        errors=(404, 409),
    ),
    Endpoint(
        "POST",
        JOB + "/cancel",
        job_action(Action.CANCEL, lambda s: s.cancel_job),
        "Cancel a running job: it stops at its next check or after the grace period and fails as cancelled",
        "jobs",
        response=ActionOut,
        action=Action.CANCEL,
        errors=(404, 409),
    ),
    Endpoint(
        "POST",
        JOB + "/promote",
        job_action(Action.PROMOTE, lambda s: s.promote_job),
        "Run a delayed job now",
        "jobs",
        response=ActionOut,
        action=Action.PROMOTE,
        errors=(404, 409),
    ),
    Endpoint(
        "POST",
        QUEUE + "/retry-failed",
        queue_action(Action.RETRY_ALL, lambda s: s.retry_all_failed),
        "Retry every failed job of the queue",
        "queues",
        response=ActionOut,
        action=Action.RETRY_ALL,
        errors=(404,),
    ),
    Endpoint(
        "POST",
        QUEUE + "/pause",
        queue_action(Action.PAUSE, lambda s: s.pause_queue),
        "Stop workers on every host taking the queue's jobs",
        "queues",
        response=ActionOut,
        action=Action.PAUSE,
        errors=(404,),
    ),
    Endpoint(
        "POST",
        QUEUE + "/resume",
        queue_action(Action.RESUME, lambda s: s.resume_queue),
        "Resume a paused queue",
        "queues",
        response=ActionOut,
        action=Action.RESUME,
        errors=(404,),
    ),
    Endpoint(
        "POST",
        QUEUE + "/clean",
        clean_queue,
        "Remove jobs of a state older than `grace` ms",
        "queues",
        response=ActionOut,
        body=CleanRequest,
        action=Action.CLEAN,
        errors=(400, 404, 413, 415, 422),
    ),
    Endpoint(
        "POST",
        QUEUE + "/drain",
        queue_action(Action.DRAIN, lambda s: s.drain_queue),
        "Remove every job waiting to run (delayed jobs stay)",
        "queues",
        response=ActionOut,
        action=Action.DRAIN,
        errors=(404,),
    ),
]
