"""Seed 002 (platform queue module): the document's `addJob` calls and its `POST /queue/jobs` body, with
its example payloads (and its interfaces where it gives no example), run by a worker with the pack loaded."""

from __future__ import annotations

import email
import email.policy
import gzip
import os
import time
from pathlib import Path

import pytest
from pack_harness import PackRun, example, run_pack
from PIL import Image

from examples.platform import KINDS, JobPriority, JobType, add_job
from examples.platform.job_types import engine_priority
from examples.platform.store import area, open_store
from wellqueue_tui.jobs import EnqueueError, enqueue
from wellqueue_tui.jobs.actions import promote_job
from wellqueue_tui.jobs.registry import Registry

from jobs.conftest import make_broker, running_worker, state_of


@pytest.fixture
def platform_run(redis_client, redis_url, pack_settings):
    with run_pack(redis_url, pack_settings, "examples.platform") as run:
        yield run


def outbox_message(run, job_id: str) -> email.message.EmailMessage:
    [path] = list(run.settings.outbox_dir.glob(f"*_{job_id}*.eml"))
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def seed_users(data_dir: Path) -> None:
    with open_store(data_dir) as db:
        db.executemany(
            "INSERT INTO users (id, email, name, role, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                ("u1", "ada@example.com", "Ada", "admin", "2024-01-01"),
                ("u2", "bob@example.com", "Bob", "user", "2024-01-02"),
                ("u3", "cy@example.com", "Cy", "admin", "2024-01-03"),
            ],
        )


def test_high_priority_welcome_email(platform_run) -> None:
    job_id = add_job(
        JobType.EMAIL_SEND,
        example("platform", "email-send-welcome"),
        {"priority": JobPriority.HIGH, "attempts": 3},
        broker=platform_run.broker,
    )
    job = platform_run.completed(job_id)
    assert job.summary.priority == 11 and job.summary.max_attempts == 3
    message = outbox_message(platform_run, job_id)
    assert message["To"] == "user@example.com" and message["Subject"] == "Welcome"
    assert "Your account user@example.com is ready" in message.get_body(("plain",)).get_content()


def test_urgent_security_alert_email(platform_run) -> None:
    job_id = add_job(
        JobType.EMAIL_SEND,
        example("platform", "email-send-security-alert"),
        {"priority": JobPriority.URGENT, "attempts": 5},
        broker=platform_run.broker,
    )
    job = platform_run.completed(job_id)
    assert job.summary.priority == 1 and job.summary.max_attempts == 5
    assert (
        "Security alert for urgent@example.com"
        in outbox_message(platform_run, job_id).get_body(("plain",)).get_content()
    )


def test_delayed_reminder_notification(platform_run) -> None:
    job_id = add_job(
        JobType.USER_NOTIFICATION,
        example("platform", "user-notification-reminder"),
        {"delay": 30000, "priority": JobPriority.NORMAL},
        broker=platform_run.broker,
    )
    assert state_of(platform_run.registry, job_id) == "delayed"
    promote_job(platform_run.registry, job_id)
    job = platform_run.completed(job_id)
    assert job.result == {"notificationId": job_id, "userId": "user123", "created": True}
    with open_store(platform_run.settings.data_dir) as db:
        row = db.execute("SELECT user_id, title, type FROM notifications").fetchone()
    assert tuple(row) == ("user123", "Reminder", "info")


def test_the_documents_post_queue_jobs_body(platform_run) -> None:
    request = example("platform", "queue-jobs-request")
    job = platform_run.completed(
        add_job(request["type"], request["data"], request["options"], broker=platform_run.broker)
    )
    assert job.summary.priority == 11 and job.summary.queue == "platform.email-send"


def test_a_job_type_is_also_an_enqueue_target(platform_run) -> None:
    job_id = enqueue(JobType.EMAIL_SEND, example("platform", "email-send-welcome"), broker=platform_run.broker)
    assert platform_run.completed(job_id).summary.queue == "platform.email-send"


def test_urgent_runs_before_high_normal_and_low(redis_client, redis_url, pack_settings) -> None:
    with make_broker(redis_url, pack_settings, KINDS) as broker:
        order = [JobPriority.LOW, JobPriority.NORMAL, JobPriority.URGENT, JobPriority.HIGH]
        ids = {
            add_job(
                JobType.USER_NOTIFICATION,
                {"userId": "u", "title": f"p{p}", "body": "b"},
                {"priority": p},
                broker=broker,
            ): p
            for p in order
        }
        with running_worker(broker, threads=1, queues=["platform.user-notification"]):
            run = PackRun(broker, Registry(broker.client, broker.keys), pack_settings)
            started = {ids[j]: run.completed(j).summary.started_at for j in ids}
    assert sorted(started, key=started.get) == [
        JobPriority.URGENT,
        JobPriority.HIGH,
        JobPriority.NORMAL,
        JobPriority.LOW,
    ]


def test_priorities_outside_1_to_20_are_refused(platform_run) -> None:
    with pytest.raises(EnqueueError, match="from 1 \\(LOW\\) to 20 \\(URGENT\\)"):
        add_job(JobType.CLEANUP, example("platform", "cleanup.interface"), {"priority": 21}, broker=platform_run.broker)
    assert [engine_priority(p) for p in (1, 5, 10, 20)] == [20, 16, 11, 1]


def test_data_export(platform_run) -> None:
    seed_users(platform_run.settings.data_dir)
    job = platform_run.completed(
        add_job(JobType.DATA_EXPORT, example("platform", "data-export.interface"), broker=platform_run.broker)
    )
    assert Path(job.result["path"]).read_text() == "id,email,role\nu1,ada@example.com,admin\nu3,cy@example.com,admin\n"


def test_file_process_resizes_an_upload(platform_run) -> None:
    upload = area(platform_run.settings.data_dir, "uploads") / "avatars" / "user123.png"
    upload.parent.mkdir(parents=True)
    Image.new("RGB", (256, 128), "teal").save(upload)
    job = platform_run.completed(
        add_job(JobType.FILE_PROCESS, example("platform", "file-process.interface"), broker=platform_run.broker)
    )
    with Image.open(job.result["output"]) as resized:
        assert resized.size == (64, 32)


@pytest.mark.parametrize(
    ("operation", "options", "name", "check"),
    [
        ("compress", {}, "notes.html.gz", lambda b: b"<h1>" in gzip.decompress(b)),
        ("extract_text", {}, "notes.txt", lambda b: b == b"Minutes\nAgreed.\n"),
    ],
)
def test_file_process_other_operations(platform_run, operation, options, name, check) -> None:
    upload = area(platform_run.settings.data_dir, "uploads") / "notes.html"
    upload.write_text("<h1>Minutes</h1><script>x()</script><p>Agreed.</p>")
    job = platform_run.completed(
        add_job(
            JobType.FILE_PROCESS,
            {"filePath": "notes.html", "operation": operation, "options": options},
            broker=platform_run.broker,
        )
    )
    output = Path(job.result["output"])
    assert output.name == name and check(output.read_bytes())


def test_file_process_refuses_a_path_outside_the_uploads(platform_run) -> None:
    job = platform_run.failed(
        add_job(
            JobType.FILE_PROCESS,
            {"filePath": "../platform.sqlite3", "operation": "compress"},
            broker=platform_run.broker,
        )
    )
    assert "outside" in job.summary.error and job.summary.attempts == 1


def test_cache_warm(platform_run) -> None:
    seed_users(platform_run.settings.data_dir)
    job = platform_run.completed(
        add_job(JobType.CACHE_WARM, example("platform", "cache-warm.interface"), broker=platform_run.broker)
    )
    assert job.result == {"cacheKey": "users:admins", "entries": 2, "ttl": 600}


def test_cleanup_removes_old_temp_files_only(platform_run) -> None:
    tmp = area(platform_run.settings.data_dir, "tmp")
    old, new, other = tmp / "old.tmp", tmp / "new.tmp", tmp / "old.keep"
    for path in (old, new, other):
        path.write_text("x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    os.utime(other, (two_days_ago, two_days_ago))
    job = platform_run.completed(
        add_job(JobType.CLEANUP, example("platform", "cleanup.interface"), broker=platform_run.broker)
    )
    assert job.result["removed"] == 1 and not old.exists() and new.exists() and other.exists()


def test_cleanup_of_expired_sessions(platform_run) -> None:
    with open_store(platform_run.settings.data_dir) as db:
        db.executemany("INSERT INTO sessions VALUES (?, ?, ?)", [("s1", "u1", 0), ("s2", "u1", 2**53)])
    job = platform_run.completed(
        add_job(JobType.CLEANUP, {"targetType": "expired_sessions", "olderThan": 0}, broker=platform_run.broker)
    )
    assert job.result["removed"] == 1
