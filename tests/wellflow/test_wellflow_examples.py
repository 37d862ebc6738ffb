"""WellFlow's three example payloads (tests/fixtures/wellflow, the document's exact bytes), end to end on the
private Redis: enqueued through Python and through the CLI, run by a real worker, final state checked."""

from __future__ import annotations

import email
import email.policy
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from wellqueue_tui import cli
from wellqueue_tui.auth.permissions import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.kind import all_kinds
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings, load_settings
from wellqueue_tui.wellflow.demo import demo_jobs
from wellqueue_tui.wellflow.production_store import ProductionStore

from jobs.conftest import make_broker, running_worker, state_of, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wellflow"
WELLFLOW_QUEUES = ("data-validation", "report-generation", "email-notifications")
DEADLINE_S = 90.0
SECRET = "wellflow-examples-" + "s" * 32


def example(queue: str) -> Path:
    return FIXTURES / f"{queue}.json"


@pytest.fixture
def worker_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "worker")


@pytest.fixture
def wellflow(redis_client, redis_url: str, worker_settings: Settings) -> Iterator[tuple]:
    """The built-in kinds on the private Redis, and a worker taking WellFlow's three queues."""
    with (
        make_broker(redis_url, worker_settings, list(all_kinds().values())) as broker,
        running_worker(broker, threads=3, queues=WELLFLOW_QUEUES),
    ):
        yield broker, Registry(broker.client, broker.keys)


@pytest.fixture
def cli_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> None:
    """The environment `wellqueue enqueue` runs in: the same Redis, its own data dir, an operator token."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("WELLQUEUE_JWT_SECRET", SECRET)
    key = load_signing_key(load_settings())
    monkeypatch.setenv(
        "WELLQUEUE_TOKEN", issue_token(key, sub="cli-operator", role=Role.OPERATOR, org=None, ttl=timedelta(minutes=5))
    )


def enqueue_with_python(queue: str, broker) -> str:
    return enqueue(queue, json.loads(example(queue).read_bytes()), broker=broker)


def enqueue_with_cli(queue: str, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    code = cli.main(["enqueue", queue, "--data", f"@{example(queue)}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip()


def finished(registry: Registry, job_id: str) -> str:
    wait_for(lambda: state_of(registry, job_id) in ("completed", "failed"), timeout=DEADLINE_S)
    return state_of(registry, job_id)


def outbox_message(settings: Settings, job_id: str) -> email.message.EmailMessage:
    [path] = list(settings.outbox_dir.glob(f"*_{job_id.replace(':', '_')}*.eml"))
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_fixtures_are_the_documents_bytes() -> None:
    document = next(Path("/work/shared/seeds").glob("000_*.txt"), None)
    if document is None:
        pytest.skip("the seed documents are not on this machine")
    text = document.read_bytes()
    for queue in WELLFLOW_QUEUES:
        assert example(queue).read_bytes() in text


# --- data-validation ---------------------------------------------------------------------------


def check_validation(registry: Registry, settings: Settings, job_id: str) -> None:
    """Howard County, TX at those coordinates passes every check this processor knows: recorded as valid."""
    assert finished(registry, job_id) == "completed", registry.get_job(job_id).summary.error
    result = registry.get_job(job_id).result
    assert result["wellId"] == "WELL-1250" and result["validationType"] == "production_data"
    assert result["recorded"] is True and result["warnings"] == []
    day = date.fromisoformat(result["date"])
    [reading] = ProductionStore(settings.production_db).readings(day, day, well_ids=["WELL-1250"])
    assert (reading.status, reading.county, reading.oil_bbl, reading.gas_mcf) == ("valid", "Howard", 518, 1854)


def test_data_validation_example_from_python(wellflow, worker_settings: Settings) -> None:
    broker, registry = wellflow
    check_validation(registry, worker_settings, enqueue_with_python("data-validation", broker))


def test_data_validation_example_from_the_cli(wellflow, worker_settings: Settings, cli_session, capsys) -> None:
    _broker, registry = wellflow
    check_validation(registry, worker_settings, enqueue_with_cli("data-validation", capsys))


def test_data_validation_example_sent_twice_fails_the_second_as_a_duplicate(
    wellflow, worker_settings: Settings
) -> None:
    """The domain's answer, not an enqueue refusal: one valid reading per well and day, and the alert goes out."""
    broker, registry = wellflow
    first = enqueue_with_python("data-validation", broker)
    assert finished(registry, first) == "completed"
    second = enqueue_with_python("data-validation", broker)
    assert finished(registry, second) == "failed"
    assert "duplicate_reading" in registry.get_job(second).summary.error
    alert = f"alert:{second}"
    assert finished(registry, alert) == "completed"
    assert "WELL-1250" in outbox_message(worker_settings, alert)["Subject"]


# --- report-generation -------------------------------------------------------------------------


def check_report(registry: Registry, settings: Settings, job_id: str) -> None:
    assert finished(registry, job_id) == "completed", registry.get_job(job_id).summary.error
    result = registry.get_job(job_id).result
    assert result["reportId"] == "RPT-1758639909790-272" and result["format"] == "pdf"
    path = Path(result["path"])
    assert path.name == "environmental_quarterly_2025-09-05_2025-09-23_RPT-1758639909790-272.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    recipients = ["manager@wellflow.com", "compliance@wellflow.com", "operations@wellflow.com"]
    for index, recipient in enumerate(recipients):
        notice = f"report_ready:{job_id}:{index}"
        assert finished(registry, notice) == "completed"
        assert registry.get_job(notice).summary.priority == 2  # the report's "high"
        message = outbox_message(settings, notice)
        assert message["To"] == recipient and "RPT-1758639909790-272" in message["Subject"]
        attachment = next(message.iter_attachments())
        assert attachment.get_filename() == path.name


def test_report_generation_example_from_python(wellflow, worker_settings: Settings) -> None:
    broker, registry = wellflow
    check_report(registry, worker_settings, enqueue_with_python("report-generation", broker))


def test_report_generation_example_from_the_cli(wellflow, worker_settings: Settings, cli_session, capsys) -> None:
    _broker, registry = wellflow
    check_report(registry, worker_settings, enqueue_with_cli("report-generation", capsys))


# --- email-notifications -----------------------------------------------------------------------


def check_notification(registry: Registry, settings: Settings, job_id: str) -> None:
    assert finished(registry, job_id) == "completed", registry.get_job(job_id).summary.error
    assert registry.get_job(job_id).summary.priority == 1  # urgent jumps the queue
    message = outbox_message(settings, job_id)
    assert message["Subject"] == "Report ready for well WELL-5012: Safety inspection overdue"
    assert message["To"] == "safety@wellflow.com, field@wellflow.com"
    assert message["X-WellFlow-Notification-Id"] == "NOTIF-1758639909793-40"
    assert message["X-WellFlow-Well-Id"] == "WELL-5012"
    assert message["X-WellQueue-Organization"] == "ORG-4" and message["X-Priority"] == "1 (Highest)"
    text = message.get_body(("plain",)).get_content()
    assert "Safety inspection overdue" in text
    assert "Notification: NOTIF-1758639909793-40" in text and "Well: WELL-5012" in text


def test_email_notification_example_from_python(wellflow, worker_settings: Settings) -> None:
    broker, registry = wellflow
    check_notification(registry, worker_settings, enqueue_with_python("email-notifications", broker))


def test_email_notification_example_from_the_cli(wellflow, worker_settings: Settings, cli_session, capsys) -> None:
    _broker, registry = wellflow
    check_notification(registry, worker_settings, enqueue_with_cli("email-notifications", capsys))


# --- the demo ------------------------------------------------------------------------------------


def test_demo_jobs_run_and_only_the_deliberate_ones_fail(wellflow) -> None:
    """`wellqueue demo`'s 39 jobs on a fresh store, delays dropped so the test need not wait for them."""
    broker, registry = wellflow
    jobs = demo_jobs(random.Random(7))
    ids = {
        enqueue(job.queue, job.payload, broker=broker, **{k: v for k, v in job.options.items() if k != "delay_ms"}): job
        for job in jobs
    }
    states = {job_id: finished(registry, job_id) for job_id in ids}
    failed = {job_id for job_id, state in states.items() if state == "failed"}
    assert failed == {job_id for job_id, job in ids.items() if job.fails_on_purpose}, [
        (ids[j].note, registry.get_job(j).summary.error) for j in failed ^ {j for j in ids if ids[j].fails_on_purpose}
    ]
    for queue in WELLFLOW_QUEUES:
        assert any(states[j] == "completed" for j, job in ids.items() if job.queue == queue), queue
    for job_id in failed:  # each deliberate failure names its domain reason and raised its alert
        assert "failed production data for" in registry.get_job(job_id).summary.error
        assert finished(registry, f"alert:{job_id}") == "completed"
