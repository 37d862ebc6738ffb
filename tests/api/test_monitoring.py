"""Health for load balancers, Prometheus metrics, and the OpenAPI document (validated)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from wellqueue_tui.api.openapi import endpoints
from wellqueue_tui.auth.identity import Role
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.workers.worker_records import (
    WorkerRecord,
    WorkerRecords,
    WorkerState,
)

from .conftest import READING


def worker(state: WorkerState = WorkerState.RUNNING) -> WorkerRecord:
    return WorkerRecord(
        id="host-a:100:data-validation:0",
        supervisor="host-a:100",
        host="host-a",
        group="data-validation",
        queues=("data-validation",),
        threads=3,
        state=state,
        pid=101,
        started=1.0,
        restarts=0,
        last_exit_code=None,
        rss_bytes=None,
        active=0,
    )


def test_health_is_503_until_workers_and_a_scheduler_are_up(api):
    reply = api.get("/api/jobs/health")
    assert reply.status == 503
    assert reply.json == {"status": "unavailable", "redis": True, "workers": False, "scheduler": False}
    WorkerRecords(api.client, KEYS).publish([worker()])
    assert api.get("/api/jobs/health").json["workers"] is True
    api.client.set(KEYS.leader, "host-a:100:abc", px=15_000)
    reply = api.get("/api/jobs/health")
    assert reply.status == 200 and reply.json == {"status": "ok", "redis": True, "workers": True, "scheduler": True}


def test_health_does_not_count_stopped_workers(api):
    WorkerRecords(api.client, KEYS).publish([worker(WorkerState.CRASH_LOOP)])
    api.client.set(KEYS.leader, "host-a:100:abc", px=15_000)
    assert api.get("/api/jobs/health").status == 503


def test_metrics_in_prometheus_text_format(api):
    admin = api.as_role(Role.ADMIN)
    admin.enqueue("data-validation", READING)
    WorkerRecords(api.client, KEYS).publish([worker()])
    reply = admin.get("/api/jobs/metrics")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(reply.body.decode())}
    assert families["wellqueue_up"].samples[0].value == 1
    waiting = [
        s
        for s in families["wellqueue_queue_jobs"].samples
        if s.labels == {"queue": "data-validation", "state": "waiting"}
    ]
    assert waiting[0].value == 1
    assert families["wellqueue_worker_processes_up"].samples[0].labels == {"host": "host-a"}
    latency = [
        s for s in families["wellqueue_queue_latency_seconds"].samples if s.labels == {"queue": "data-validation"}
    ]
    assert latency[0].value >= 0 and "wellqueue_alert_firing" in families and "wellqueue_breaker_state" in families


def test_openapi_document_is_valid_and_complete(api):
    from openapi_spec_validator import validate

    document = api.get("/api/jobs/openapi.json").json
    validate(document)
    for endpoint in endpoints():
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        assert str(endpoint.ok) in operation["responses"]
        assert ("security" in operation) == endpoint.public
    enqueue = document["paths"]["/api/jobs/queues/{name}/jobs"]["post"]["requestBody"]
    payloads = enqueue["x-payload-models"]
    assert set(payloads) == set(api.services.broker.kinds)
    for queue, ref in payloads.items():
        model = api.services.broker.kinds[queue].payload
        schema = document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        assert set(schema["properties"]) == set(model.model_json_schema()["properties"])
    options = document["components"]["schemas"]["JobOptionsIn"]["properties"]
    assert set(options) == {
        "jobId",
        "priority",
        "delay",
        "attempts",
        "backoff",
        "removeOnComplete",
        "removeOnFail",
        "timeout",
    }


def test_every_route_of_the_app_is_documented(api):
    from wellqueue_tui.api import create_api_app

    app = create_api_app(api.services)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    documented = {(e.method, e.path) for e in endpoints()}
    assert routes == documented


def test_failure_groups(api):
    from wellqueue_tui.jobs.scripts import LUA_DIR
    from wellqueue_tui.jobs.signature import failure_group_args

    admin = api.as_role(Role.ADMIN)
    ids = [admin.enqueue("data-validation", {**READING, "wellId": f"WELL-TX-{n:04}"}) for n in range(3)]
    probe = (
        (LUA_DIR / "common.lua").read_text()
        + """
for i = 2, #ARGV, 5 do
  local job = job_key(ARGV[i])
  set_state(job, ARGV[i], 'failed', 1)
  join_failure_group(job, ARGV[i], 'data-validation', 1750000000000, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end"""
    )
    args = []
    for n, job_id in enumerate(ids):
        error = f"ValueError: well WELL-TX-{n:04} has no lease LEASE-{n}"
        args += [job_id, *failure_group_args(error, {**READING, "wellId": f"WELL-TX-{n:04}"}), error]
    api.client.eval(probe, 0, KEYS.prefix, *args)
    reply = admin.get("/api/jobs/failures")
    assert reply.status == 200
    [group] = reply.json["groups"]
    assert (group["signature"], group["count"], group["queues"]) == (
        "ValueError: well <id> has no lease <id>",
        3,
        {"data-validation": 3},
    )
    assert group["topValues"]["county"] == [[READING["location"]["county"], 3]] and len(group["hourly"]) == 24
    assert api.as_role(Role.MANAGER).get("/api/jobs/failures").status == 200
    assert api.as_role(Role.ADMIN, org="permian-ops").get("/api/jobs/failures").status == 403
