"""The `exports.scheduled` queue: send due e-mail campaigns (one `exports.email` job per recipient, with a
deterministic id, so a rerun sends nothing twice) and rewrite `sitemap.xml` from the tour packages."""

from __future__ import annotations

from xml.sax.saxutils import escape

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import config, files
from .payloads import ProcessCampaigns, ScheduledJob, job_of
from .store import area, now_iso, open_store

PRIORITY, ATTEMPTS = 5, 3
SITE_VARIABLE, DEFAULT_SITE = "EXPORTS_SITE_URL", "http://localhost:5173"
STATIC_PAGES = ("/", "/tours", "/packages", "/booking", "/contact")


def process_campaigns(ctx: JobContext) -> dict:
    with open_store(ctx.settings.data_dir) as db:
        due = [
            dict(r)
            for r in db.execute(
                "SELECT * FROM campaigns WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at", (now_iso(),)
            )
        ]
    queued = 0
    for number, campaign in enumerate(due, start=1):
        with open_store(ctx.settings.data_dir) as db:
            audience = db.execute(
                "SELECT id, email FROM users WHERE role = ? ORDER BY id", (campaign["audience_role"],)
            ).fetchall()
        for user in audience:
            ctx.enqueue(
                "exports.email",
                {
                    "name": "send-email",
                    "data": {"to": user["email"], "subject": campaign["subject"], "html": campaign["html"]},
                },
                job_id=f"campaign-{files.safe_name(campaign['id'])}-{files.safe_name(user['id'])}",
            )
            queued += 1
        with open_store(ctx.settings.data_dir) as db:
            db.execute("UPDATE campaigns SET status = 'sent', sent_at = ? WHERE id = ?", (now_iso(), campaign["id"]))
        ctx.progress(100 * number / len(due))
    return {"success": True, "campaigns": len(due), "emails": queued}


def update_sitemap(ctx: JobContext) -> dict:
    site = config.optional(SITE_VARIABLE, DEFAULT_SITE).rstrip("/")
    with open_store(ctx.settings.data_dir) as db:
        packages = db.execute("SELECT id, updated_at FROM packages ORDER BY id").fetchall()
    entries = [f"<url><loc>{escape(site + page)}</loc></url>" for page in STATIC_PAGES]
    for package in packages:
        loc, modified = escape(f"{site}/packages/{package['id']}"), escape(package["updated_at"][:10])
        entries.append(f"<url><loc>{loc}</loc><lastmod>{modified}</lastmod></url>")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )
    path = files.write_atomic(area(ctx.settings.data_dir, "public") / "sitemap.xml", xml.encode())
    return {"success": True, "path": str(path), "urls": len(entries)}


def run_scheduled(payload: ScheduledJob, ctx: JobContext) -> dict:
    job = job_of(payload)
    result = process_campaigns(ctx) if isinstance(job, ProcessCampaigns) else update_sitemap(ctx)
    ctx.progress(100)
    return result


KIND = JobKind(
    name="gnb_scheduled",
    queue="exports.scheduled",
    payload=ScheduledJob,
    process=run_scheduled,
    max_attempts=ATTEMPTS,
    backoff_ms=2000,
    timeout_ms=10 * 60_000,
    priority_of=lambda _payload: PRIORITY,
    tenant_field=None,
)
