"""Seed 001 (PAM): the document's enqueue calls with its example payloads, run by a worker with the pack
loaded on the private Redis."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from pack_harness import example, run_pack

from examples.pam import queue as pam
from examples.pam.store import BatchItem, define_batch, open_store, record_message
from wellqueue_tui import cli
from wellqueue_tui.auth.permissions import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.jobs.actions import promote_job
from wellqueue_tui.jobs.kind import all_kinds
from wellqueue_tui.settings import load_settings
from wellqueue_tui.wellflow import webhook_signing

from jobs.conftest import state_of, wait_for

SECRET = "pam-test-secret-" + "x" * 24


@pytest.fixture
def pam_run(redis_client, redis_url, pack_settings, monkeypatch):
    monkeypatch.delenv("PAM_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("PAM_WEBHOOK_SECRET", raising=False)
    with run_pack(redis_url, pack_settings, "examples.pam") as run:
        yield run


def define_example_batch(data_dir: Path) -> None:
    define_batch(
        data_dir,
        "tenant-123",
        "batch-456",
        [
            BatchItem("crude-supply", 1000.0, "WTI", date(2024, 1, 2), date(2024, 1, 15), 1.0),
            BatchItem("freight", 200.0, "WTI", date(2024, 1, 8), date(2024, 1, 15), 0.25),
        ],
    )


def ingest_example(run) -> None:
    run.completed(pam.enqueue_ingestion(example("pam", "ingestion"), broker=run.broker))


def test_the_pack_loads_beside_wellflow_without_replacing_a_queue() -> None:
    kinds = all_kinds(["examples.pam"])
    assert {"pam.ingestion", "pam.calculation", "pam.webhooks", "pam.reports"} <= set(kinds)
    assert kinds["webhooks"].name == "deliver_webhook"  # WellFlow's own


def test_ingestion_example_stores_the_csv_values(pam_run) -> None:
    job = pam_run.completed(pam.enqueue_ingestion(example("pam", "ingestion"), broker=pam_run.broker))
    assert job.result == {
        "seriesCode": "WTI",
        "versionTag": "final",
        "rows": 3,
        "from": "2024-01-02",
        "to": "2024-01-15",
    }
    assert job.summary.progress == 100 and job.summary.org == "tenant-123"
    with open_store(pam_run.settings.data_dir) as db:
        rows = db.execute("SELECT value_date, value FROM index_values ORDER BY value_date").fetchall()
    assert [tuple(r) for r in rows] == [("2024-01-02", 70.38), ("2024-01-08", 70.77), ("2024-01-15", 72.68)]


def test_ingestion_with_the_documents_delay_waits_until_promoted(pam_run) -> None:
    job_id = pam.enqueue_ingestion(example("pam", "ingestion"), {"delay": 60000}, broker=pam_run.broker)
    assert state_of(pam_run.registry, job_id) == "delayed"
    assert promote_job(pam_run.registry, job_id).count == 1
    pam_run.completed(job_id)


def test_calculation_example_prices_the_batch_with_progress_and_an_idempotent_job_id(pam_run) -> None:
    define_example_batch(pam_run.settings.data_dir)
    ingest_example(pam_run)
    data = example("pam", "calculation")
    options = {"jobId": f"calc-{data['tenantId']}-{data['batchId']}"}
    first = pam.enqueue_calculation(data, options, broker=pam_run.broker)
    assert pam.enqueue_calculation(data, options, broker=pam_run.broker) == first == "calc-tenant-123-batch-456"
    pam_run.completed(first)
    status = pam.get_job_status(pam_run.registry, "calculation", "calc-tenant-123-batch-456")
    assert status["state"] == "completed" and status["progress"] == 100
    assert status["result"]["status"] == "SUCCESS" and status["result"]["items"] == 2
    with open_store(pam_run.settings.data_dir) as db:
        prices = dict(db.execute("SELECT item_id, adjusted_price FROM calc_results").fetchall())
    assert prices["crude-supply"] == pytest.approx(1000 * 72.68 / 70.38)
    assert prices["freight"] == pytest.approx(200 * (0.75 + 0.25 * 72.68 / 70.77))


def test_the_documents_testing_example(pam_run) -> None:
    """Its unit test (the job has an id and carries the batch) and integration test (it completes)."""
    define_batch(
        pam_run.settings.data_dir,
        "test-tenant",
        "test-batch",
        [BatchItem("line-1", 50.0, "WTI", date(2024, 1, 2), date(2024, 1, 15))],
    )
    pam_run.completed(
        pam.enqueue_ingestion({**example("pam", "ingestion"), "tenantId": "test-tenant"}, broker=pam_run.broker)
    )
    job_id = pam.enqueue_calculation(example("pam", "calculation-test"), broker=pam_run.broker)
    assert job_id and pam_run.registry.get_job(job_id).summary.data["batchId"] == "test-batch"
    pam_run.completed(job_id)
    assert pam.get_job_status(pam_run.registry, "calculation", job_id)["state"] == "completed"


def test_calculation_priority_100_runs_as_a_high_wellqueue_priority(pam_run) -> None:
    define_example_batch(pam_run.settings.data_dir)
    ingest_example(pam_run)
    job = pam_run.completed(
        pam.enqueue_calculation(example("pam", "calculation"), {"priority": 100}, broker=pam_run.broker)
    )
    assert job.summary.priority == 901  # PAM: higher first; WellQueue: 1 first


def test_calculation_of_an_unknown_batch_fails_at_once(pam_run) -> None:
    job = pam_run.failed(pam.enqueue_calculation(example("pam", "calculation"), broker=pam_run.broker))
    assert "batch-456" in job.summary.error and job.summary.attempts == 1


def test_webhook_example_without_an_endpoint_fails_at_once_saying_what_to_set(pam_run) -> None:
    record_message(pam_run.settings.data_dir, "tenant-123", "msg-789", "calc.batch.completed", {"batchId": "b"})
    job = pam_run.failed(pam.enqueue_webhook(example("pam", "webhook"), {"attempts": 5}, broker=pam_run.broker))
    assert "not configured: set PAM_WEBHOOK_URL and PAM_WEBHOOK_SECRET" in job.summary.error
    assert job.summary.attempts == 1


def test_webhook_example_is_delivered_signed_to_the_configured_endpoint(pam_run, fake_provider, monkeypatch) -> None:
    fake_provider.route("POST", "/hooks/pam", (204, {}))
    monkeypatch.setenv("PAM_WEBHOOK_URL", f"{fake_provider.url}/hooks/pam")
    monkeypatch.setenv("PAM_WEBHOOK_SECRET", SECRET)
    record_message(
        pam_run.settings.data_dir, "tenant-123", "msg-789", "calc.batch.completed", {"batchId": "batch-456", "items": 2}
    )
    job = pam_run.completed(pam.enqueue_webhook(example("pam", "webhook"), {"attempts": 5}, broker=pam_run.broker))
    assert job.summary.max_attempts == 5 and job.result == {"status": 204, "messageId": "msg-789"}
    [request] = fake_provider.requests_to("/hooks/pam")
    webhook_signing.verify(SECRET, request.headers, request.body)
    assert request.json()["type"] == "calc.batch.completed" and request.json()["data"]["items"] == 2
    with open_store(pam_run.settings.data_dir) as db:
        assert db.execute("SELECT delivered_at FROM webhook_messages").fetchone()[0] is not None


def test_webhook_is_retried_while_the_endpoint_answers_5xx(pam_run, fake_provider, monkeypatch) -> None:
    answers = iter([(503, {"error": "busy"})])
    fake_provider.route("POST", "/hooks/pam", lambda _request: next(answers, (200, {})))
    monkeypatch.setenv("PAM_WEBHOOK_URL", f"{fake_provider.url}/hooks/pam")
    monkeypatch.setenv("PAM_WEBHOOK_SECRET", SECRET)
    record_message(pam_run.settings.data_dir, "tenant-123", "msg-789", "calc.batch.completed", {})
    job_id = pam.enqueue_webhook(example("pam", "webhook"), {"attempts": 5}, broker=pam_run.broker)
    wait_for(lambda: len(fake_provider.requests_to("/hooks/pam")) >= 1, timeout=30)
    promote_when_delayed(pam_run, job_id)
    assert pam_run.completed(job_id).summary.attempts == 2


def promote_when_delayed(run, job_id: str) -> None:
    """Skip the retry's backoff (5 s) instead of waiting it out."""
    wait_for(lambda: state_of(run.registry, job_id) in ("delayed", "completed"), timeout=30)
    if state_of(run.registry, job_id) == "delayed":
        promote_job(run.registry, job_id)


def test_report_example_writes_the_price_math_pdf(pam_run) -> None:
    define_example_batch(pam_run.settings.data_dir)
    ingest_example(pam_run)
    pam_run.completed(pam.enqueue_calculation(example("pam", "calculation"), broker=pam_run.broker))
    job = pam_run.completed(pam.enqueue_report(example("pam", "report"), broker=pam_run.broker))
    path = Path(job.result["path"])
    assert path.read_bytes().startswith(b"%PDF") and path.parent.name == "tenant-123"
    assert job.result["items"] == 2 and path.name.startswith("price-math_batch-456_")


def test_pam_priority_bounds_are_the_documents() -> None:
    assert pam.engine_priority(1000) == 1 and pam.engine_priority(1) == 1000 and pam.engine_priority(0) is None
    with pytest.raises(ValueError, match="0 to 1000"):
        pam.engine_priority(1001)


def test_the_cli_enqueues_onto_a_pack_loaded_from_the_environment(
    pam_run, redis_url, tmp_path, monkeypatch, capsys
) -> None:
    """What the README shows: WELLQUEUE_KIND_MODULES names the pack, `wellqueue enqueue` finds its queues."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("WELLQUEUE_JWT_SECRET", "pam-cli-" + "s" * 32)
    monkeypatch.setenv("WELLQUEUE_KIND_MODULES", '["examples.pam"]')
    key = load_signing_key(load_settings())
    monkeypatch.setenv(
        "WELLQUEUE_TOKEN", issue_token(key, sub="cli-operator", role=Role.OPERATOR, org=None, ttl=timedelta(minutes=5))
    )
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "pam" / "ingestion.json"
    capsys.readouterr()
    assert cli.main(["enqueue", "pam.ingestion", "--data", f"@{fixture}"]) == 0, capsys.readouterr().err
    pam_run.completed(capsys.readouterr().out.strip())
