"""The `exports.ai` queue: package recommendations for a user (stored) and the delay risk of a transfer,
each one call to the configured AI provider."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from .ai_client import ask_json
from .payloads import AIJob, DelayRisk, PackageRecommendations, job_of
from .store import now_iso, open_store

PRIORITY, ATTEMPTS, TIMEOUT_MS = 7, 3, 60_000
HISTORY_LIMIT = 20


class Recommendation(BaseModel):
    packageId: str
    reason: str = Field(max_length=500)


class Recommendations(BaseModel):
    recommendations: list[Recommendation] = Field(max_length=10)


class RiskAssessment(BaseModel):
    riskLevel: Literal["low", "medium", "high"]
    probability: float = Field(ge=0, le=1)
    factors: list[str] = Field(default_factory=list, max_length=20)


def recommend(ctx: JobContext, job: PackageRecommendations) -> dict:
    with open_store(ctx.settings.data_dir) as db:
        if db.execute("SELECT 1 FROM users WHERE id = ?", (job.data.userId,)).fetchone() is None:
            raise PermanentJobError(f"data.userId: no user {job.data.userId!r}")
        history = [
            dict(r)
            for r in db.execute(
                "SELECT tour, date, guests FROM bookings WHERE user_id = ? ORDER BY date DESC LIMIT ?",
                (job.data.userId, HISTORY_LIMIT),
            )
        ]
        packages = {r["id"]: dict(r) for r in db.execute("SELECT id, name, description, price FROM packages")}
    if not packages:
        raise PermanentJobError("no tour packages in the store to recommend from")
    ctx.progress(20)
    answer = _parse(
        Recommendations,
        ask_json(
            f"Recommend up to {job.data.options.limit} tour packages for this customer. Answer JSON "
            '{"recommendations": [{"packageId": "...", "reason": "..."}]} with reasons in language '
            f"{job.data.options.language}.",
            {"bookings": history, "packages": list(packages.values())},
        ),
    )
    chosen = [item for item in answer.recommendations if item.packageId in packages][: job.data.options.limit]
    items = [
        {"packageId": item.packageId, "name": packages[item.packageId]["name"], "reason": item.reason}
        for item in chosen
    ]
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "INSERT OR REPLACE INTO recommendations VALUES (?, ?, ?, ?, ?)",
            (ctx.job_id, job.data.userId, job.data.options.language, json.dumps(items), now_iso()),
        )
    ctx.log(
        f"{len(items)} recommendation(s) for {job.data.userId}; "
        f"{len(answer.recommendations) - len(chosen)} unknown or surplus package(s) dropped"
    )
    return {"success": True, "userId": job.data.userId, "recommendations": items}


def delay_risk(job: DelayRisk) -> dict:
    answer = _parse(
        RiskAssessment,
        ask_json(
            "Estimate the risk that this airport transfer is delayed. Answer JSON "
            '{"riskLevel": "low|medium|high", "probability": 0..1, "factors": ["..."]}.',
            job.data.model_dump(mode="json"),
        ),
    )
    return {"success": True, "origin": job.data.origin, "destination": job.data.destination, **answer.model_dump()}


def run_ai(payload: AIJob, ctx: JobContext) -> dict:
    job = job_of(payload)
    result = recommend(ctx, job) if isinstance(job, PackageRecommendations) else delay_risk(job)
    ctx.progress(100)
    return result


def _parse(model: type[BaseModel], value: dict):
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PermanentJobError(f"the AI provider's answer does not fit: {where}: {first['msg']}") from None


KIND = JobKind(
    name="gnb_ai",
    queue="exports.ai",
    payload=AIJob,
    process=run_ai,
    max_attempts=ATTEMPTS,
    backoff_ms=2000,
    timeout_ms=TIMEOUT_MS,
    priority_of=lambda _payload: PRIORITY,
    tenant_field=None,
)
