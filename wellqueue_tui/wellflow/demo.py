"""A seeded, realistic mix of demo jobs in WellFlow's payload shapes, a few of them meant to fail.

Like WellFlow's test-job generator: 39 jobs by default across data validation, report generation
and e-mail notifications. Wells sit in real Permian, Eagle Ford and Bakken counties; volumes are
plausible per basin. Webhook jobs are only made when a receiver is named (`webhook_url`, from
WELLQUEUE_DEMO_WEBHOOK_URL): without one every delivery would fail, which shows nothing.
`DemoJob.note` says what each job shows; `fails_on_purpose` marks the ones that should fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

DEMO_JOB_COUNT = 39  # as many as WellFlow's generate-test-jobs.js makes
ORGANIZATIONS = ("permian-ops", "bakken-ops")

REPORT_TYPES = (
    "production_daily",
    "production_monthly",
    "compliance_monthly",
    "environmental_quarterly",
    "safety_weekly",
)
REPORT_FORMATS = ("pdf", "excel", "csv")
AUDIT_TYPES = ("well_integrity", "historical_verification", "regulatory_compliance")
NOTIFICATION_TYPES = ("alert", "compliance_due", "maintenance_required", "report_ready", "reminder")
NOTIFICATION_PRIORITIES = ("urgent", "high", "medium", "low")
WEBHOOK_EVENTS = ("well.validated", "production.recorded", "report.completed", "alert.raised")


@dataclass(frozen=True)
class County:
    name: str
    state: str
    latitude: float  # approximate county centre
    longitude: float
    basin: str


COUNTIES = (
    County("Midland", "TX", 31.87, -102.03, "Permian"),
    County("Reeves", "TX", 31.32, -103.69, "Permian"),
    County("Loving", "TX", 31.85, -103.58, "Permian"),
    County("Martin", "TX", 32.31, -101.95, "Permian"),
    County("Howard", "TX", 32.30, -101.44, "Permian"),
    County("Upton", "TX", 31.37, -102.04, "Permian"),
    County("Ward", "TX", 31.51, -103.10, "Permian"),
    County("Lea", "NM", 32.79, -103.41, "Permian"),
    County("Eddy", "NM", 32.47, -104.30, "Permian"),
    County("Karnes", "TX", 28.91, -97.86, "Eagle Ford"),
    County("DeWitt", "TX", 29.08, -97.36, "Eagle Ford"),
    County("Gonzales", "TX", 29.46, -97.49, "Eagle Ford"),
    County("La Salle", "TX", 28.35, -99.10, "Eagle Ford"),
    County("McMullen", "TX", 28.35, -98.57, "Eagle Ford"),
    County("McKenzie", "ND", 47.74, -103.40, "Bakken"),
    County("Williams", "ND", 48.34, -103.48, "Bakken"),
    County("Mountrail", "ND", 48.20, -102.36, "Bakken"),
    County("Dunn", "ND", 47.36, -102.62, "Bakken"),
)

# Daily oil (bbl), gas (mcf) and water (bbl) ranges of a producing horizontal well.
BASIN_VOLUMES = {
    "Permian": ((150, 900), (300, 2500), (500, 3000)),
    "Eagle Ford": ((100, 600), (400, 3000), (100, 800)),
    "Bakken": ((150, 700), (200, 1200), (200, 1000)),
}

# The monthly production filing each state's regulator expects.
FILINGS = {
    "TX": ("RRC Form PR (monthly production report)", "Railroad Commission of Texas"),
    "NM": ("Form C-115 (monthly operator report)", "New Mexico Oil Conservation Division"),
    "ND": ("NDIC Form 5 (monthly production report)", "North Dakota Industrial Commission"),
}

EQUIPMENT = (
    ("electric submersible pump", "motor amperage 18% above its 30-day baseline"),
    ("rod pump", "dynamometer card shows fluid pound"),
    ("three-phase separator", "dump valve cycling every 40 s"),
    ("gas lift compressor", "discharge temperature alarm twice in 24 h"),
    ("heater treater", "burner flame-outs reported by the lease operator"),
)


@dataclass(frozen=True)
class Well:
    well_id: str
    lease_id: str
    operator_id: str
    county: County
    latitude: float
    longitude: float

    @property
    def organization(self) -> str:
        return "bakken-ops" if self.county.state == "ND" else "permian-ops"


@dataclass
class DemoJob:
    """One job to enqueue: `options` are `jobs.enqueue` keyword arguments (priority, delay_ms, attempts…)."""

    queue: str
    payload: dict
    options: dict = field(default_factory=dict)
    note: str = ""
    fails_on_purpose: bool = False


def demo_jobs(
    rng: random.Random, count: int = DEMO_JOB_COUNT, *, today: date | None = None, webhook_url: str | None = None
) -> list[DemoJob]:
    """`count` jobs, the same for the same seed (and `today`); below 22 only part of the showcase fits.
    Webhook jobs, delivered to `webhook_url`, are part of the mix only when it is given."""
    demo = _Demo(rng, today or date.today(), webhook_url)
    jobs = demo.showcase()[:count]
    while len(jobs) < count:
        jobs.append(demo.filler())
    rng.shuffle(jobs)
    return jobs


class _Demo:
    def __init__(self, rng: random.Random, today: date, webhook_url: str | None) -> None:
        self.rng = rng
        self.today = today
        self.webhook_url = webhook_url
        self.serial = 0  # numbers the report and notification ids
        self.wells = self._fleet()
        self.reading_days: set[tuple[str, date]] = set()  # (well, day or month) already in this batch

    def showcase(self) -> list[DemoJob]:
        """Every validation, report and notification type, format and priority, and the deliberate failures."""
        jobs = [self.failing_validation(kind) for kind in ("negative_volume", "outside_state", "wrong_county")]
        jobs += [self.report(rtype, REPORT_FORMATS[i % 3]) for i, rtype in enumerate(REPORT_TYPES)]
        jobs += [self.report("production_daily", fmt) for fmt in ("excel", "csv")]
        priorities = ("urgent", "high", "medium", "low", "medium")
        jobs += [self.notification(ntype, priorities[i]) for i, ntype in enumerate(NOTIFICATION_TYPES)]
        if self.webhook_url:
            jobs += [self.webhook(), self.webhook()]
        jobs += [self.audit(audit_type) for audit_type in AUDIT_TYPES]
        jobs += [self.validation(validation_type="monthly_production")]
        jobs += [self._delayed(self.validation()), self._prioritized(self.validation()), self.sweep()]
        return jobs

    def filler(self) -> DemoJob:
        roll = self.rng.random()
        if roll < 0.55:
            if self.rng.random() < 0.06:
                return self.failing_validation(self.rng.choice(("negative_volume", "outside_state", "wrong_county")))
            job = self.validation()
        elif roll < 0.70:
            job = self.report(self.rng.choice(REPORT_TYPES), self.rng.choice(REPORT_FORMATS))
        elif roll < 0.88 or not self.webhook_url:
            job = self.notification(self.rng.choice(NOTIFICATION_TYPES), self.rng.choice(NOTIFICATION_PRIORITIES))
        else:
            return self.webhook()
        if self.rng.random() < 0.15:
            return self._delayed(job)
        if self.rng.random() < 0.2:
            return self._prioritized(job)
        return job

    def _delayed(self, job: DemoJob) -> DemoJob:
        job.options["delay_ms"] = self.rng.randint(30, 300) * 1000
        job.note += f"; delayed {job.options['delay_ms'] // 1000} s"
        return job

    def _prioritized(self, job: DemoJob) -> DemoJob:
        job.options["priority"] = self.rng.randint(1, 5)  # Bull-style: 1 is the highest
        job.note += f"; priority {job.options['priority']}"
        return job

    # --- data-validation -------------------------------------------------------------

    def validation(self, well: Well | None = None, validation_type: str | None = None) -> DemoJob:
        if well is None and validation_type is None:
            roll = self.rng.random()
            if roll < 0.1:
                return self.sweep()
            if roll < 0.25:
                return self.audit(self.rng.choice(AUDIT_TYPES))
        well = well or self.rng.choice(self.wells)
        if validation_type is None:
            validation_type = "monthly_production" if self.rng.random() < 0.15 else "production_data"
        monthly = validation_type == "monthly_production"
        payload = {
            "wellId": well.well_id,
            "leaseId": well.lease_id,
            "operatorId": well.operator_id,
            "organizationId": well.organization,
            "location": {
                "latitude": well.latitude,
                "longitude": well.longitude,
                "county": well.county.name,
                "state": well.county.state,
            },
            "production": self._production(well, days=30 if monthly else 1),
            "validationType": validation_type,
            "includeHistorical": self.rng.random() < 0.3,
            "notifyOnFailure": self.rng.random() < 0.5,
        }
        if payload["notifyOnFailure"]:
            payload["notifyRecipients"] = self._recipients(well.organization, 2)
        return DemoJob("data-validation", payload, note=f"{validation_type.replace('_', ' ')} check of {well.well_id}")

    def audit(self, audit_type: str) -> DemoJob:
        """An integrity, history or compliance check of a well's reading against what is on file (nothing is
        recorded, so its day may repeat a recorded one)."""
        well = self.rng.choice(self.wells)
        job = self.validation(well, validation_type=audit_type)
        job.payload["production"]["date"] = (self.today - timedelta(days=1)).isoformat()
        job.payload["includeHistorical"] = audit_type == "historical_verification"
        return job

    def sweep(self) -> DemoJob:
        """A daily sweep re-checks one organization's stored readings of a day and lists missing wells."""
        organization = self.rng.choice(ORGANIZATIONS)
        day = (self.today - timedelta(days=1)).isoformat()
        payload = {
            "validationType": "daily_sweep",
            "organizationId": organization,
            "date": day,
            "notifyOnFailure": True,
            "notifyRecipients": self._recipients(organization, 1),
        }
        return DemoJob("data-validation", payload, note=f"daily sweep of {day} for {organization}")

    def failing_validation(self, reason: str) -> DemoJob:
        texas = [w for w in self.wells if w.county.state == "TX"]
        job = self.validation(self.rng.choice(texas))
        payload = job.payload
        payload["notifyOnFailure"] = True
        payload["notifyRecipients"] = self._recipients(payload["organizationId"], 1)
        if reason == "negative_volume":
            payload["production"]["oil"] = -round(self.rng.uniform(5, 60), 1)
            note = "negative oil volume"
        elif reason == "outside_state":
            payload["location"]["latitude"] = round(self.rng.uniform(44.0, 48.5), 5)  # Dakotas, not Texas
            note = "latitude outside Texas"
        else:
            payload["location"]["county"] = self.rng.choice(("McKenzie", "Williams", "Lea"))
            note = f"county {payload['location']['county']} is not in Texas"
        job.note = f"fails on purpose: {note}"
        job.fails_on_purpose = True
        return job

    # --- report-generation ------------------------------------------------------------

    def report(self, report_type: str, fmt: str) -> DemoJob:
        organization = self.rng.choice(ORGANIZATIONS)
        start, end = self._period(report_type)
        payload = {
            "reportId": self._document_id("RPT"),
            "reportType": report_type,
            "organizationId": organization,
            "dateRange": {  # WellFlow sends instants; the report covers the days they fall on (UTC)
                "start": _instant(start, time(0, 0)),
                "end": _instant(end, time(23, 59, 59, 999_000)),
            },
            "format": fmt,
            "includeCharts": fmt != "csv" and self.rng.random() < 0.7,
            "recipients": self._recipients(organization, self.rng.randint(1, 3)),
            "priority": self.rng.choice(NOTIFICATION_PRIORITIES),
        }
        if self.rng.random() < 0.3:
            own_wells = [w.well_id for w in self.wells if w.organization == organization]
            payload["filters"] = {"wellIds": sorted(self.rng.sample(own_wells, min(3, len(own_wells))))}
        options = {"attempts": 2} if report_type == "environmental_quarterly" else {}
        return DemoJob("report-generation", payload, options, note=f"{report_type} report as {fmt} for {organization}")

    def _period(self, report_type: str) -> tuple[date, date]:
        yesterday = self.today - timedelta(days=1)
        month_end = self.today.replace(day=1) - timedelta(days=1)
        if report_type == "production_daily":
            return yesterday, yesterday
        if report_type == "safety_weekly":
            sunday = self.today - timedelta(days=self.today.isoweekday())
            return sunday - timedelta(days=6), sunday
        if report_type == "environmental_quarterly":
            quarter_start_month = (self.today.month - 1) // 3 * 3 + 1
            quarter_end = self.today.replace(month=quarter_start_month, day=1) - timedelta(days=1)
            return quarter_end.replace(month=quarter_end.month - 2, day=1), quarter_end
        return month_end.replace(day=1), month_end

    # --- email-notifications ----------------------------------------------------------

    def notification(self, notification_type: str, priority: str) -> DemoJob:
        well = self.rng.choice(self.wells)
        due = (self.today + timedelta(days=self.rng.randint(2, 14))).isoformat()
        if notification_type == "alert":
            water_cut = self.rng.randint(86, 97)
            message = f"Production anomaly: water cut {water_cut}% is above the 85% threshold"
            data = {
                "county": well.county.name,
                "state": well.county.state,
                "issues": [
                    f"Water cut {water_cut}% is above the 85% threshold",
                    f"Oil down {self.rng.randint(25, 60)}% against the 7-day average",
                ],
            }
        elif notification_type == "compliance_due":
            filing, agency = FILINGS[well.county.state]
            message = f"{filing.split(' (')[0]} due {due}"
            data = {"leaseId": well.lease_id, "requirement": filing, "agency": agency, "dueDate": due}
        elif notification_type == "maintenance_required":
            equipment, reason = self.rng.choice(EQUIPMENT)
            message = f"Maintenance required on the {equipment}: {reason}"
            data = {"equipment": equipment, "reason": reason, "scheduledDate": due}
        elif notification_type == "report_ready":
            report_type = self.rng.choice(REPORT_TYPES)
            day = (self.today - timedelta(days=1)).isoformat()
            message = f"The {report_type.replace('_', ' ')} report for {day} is ready"
            data = {"reportType": report_type, "period": day}
        else:
            message = f"Submit last month's flare and vent volumes by {due}"
            data = {
                "task": "Enter flare and vent volumes for last month",
                "dueDate": due,
                "owner": "production engineering",
            }
        payload = {
            "notificationId": self._document_id("NOTIF"),
            "type": notification_type,
            "message": message,
            "recipients": self._recipients(well.organization, self.rng.randint(1, 3)),
            "priority": priority,
            "wellId": well.well_id,
            "organizationId": well.organization,
            "data": data,
        }
        return DemoJob("email-notifications", payload, note=f"{notification_type} email, {priority} priority")

    # --- webhooks ---------------------------------------------------------------------

    def webhook(self) -> DemoJob:
        well = self.rng.choice(self.wells)
        event = self.rng.choice(WEBHOOK_EVENTS)
        payload = {
            "url": self.webhook_url,
            "event": event,
            "data": {"wellId": well.well_id, "county": well.county.name, "state": well.county.state},
            "organizationId": well.organization,
        }
        return DemoJob("webhooks", payload, note=f"{event} webhook to the demo receiver")

    # --- shared pieces ----------------------------------------------------------------

    def _fleet(self) -> list[Well]:
        wells, numbers = [], {"TX": 0, "NM": 0, "ND": 0}
        for county in COUNTIES:
            for _ in range(self.rng.randint(1, 3)):
                numbers[county.state] += 1
                number = numbers[county.state]
                wells.append(
                    Well(
                        well_id=f"WELL-{county.state}-{number:04d}",
                        lease_id=f"LEASE-{county.state}-{self.rng.randint(10000, 99999)}",
                        operator_id=f"OP-{self.rng.choice((104, 217, 388, 452, 519)):04d}",
                        county=county,
                        latitude=round(county.latitude + self.rng.uniform(-0.08, 0.08), 5),
                        longitude=round(county.longitude + self.rng.uniform(-0.08, 0.08), 5),
                    )
                )
        return wells

    def _production(self, well: Well, days: int) -> dict:
        (oil_lo, oil_hi), (gas_lo, gas_hi), (water_lo, water_hi) = BASIN_VOLUMES[well.county.basin]
        return {
            "oil": round(self.rng.uniform(oil_lo, oil_hi) * days, 1),
            "gas": round(self.rng.uniform(gas_lo, gas_hi) * days, 1),
            "water": round(self.rng.uniform(water_lo, water_hi) * days, 1),
            "date": self._reading_day(well, monthly=days > 1).isoformat(),
        }

    def _reading_day(self, well: Well, *, monthly: bool) -> date:
        """A recent day (or month) this well has no other reading for in the batch.

        The validator fails a second reading of the same well and day as a duplicate; the
        demo's failures should be the deliberate ones.
        """
        if monthly:  # last month's filing: older ones would make the compliance checks find unreported months
            day = (self.today.replace(day=1) - timedelta(days=1)).replace(day=1)
            while (well.well_id, day) in self.reading_days:
                day = (day - timedelta(days=1)).replace(day=1)
        else:
            day = self.today - timedelta(days=self.rng.randint(1, 14))
            while (well.well_id, day) in self.reading_days:
                day -= timedelta(days=1)
        self.reading_days.add((well.well_id, day))
        return day

    def _document_id(self, prefix: str) -> str:
        """WellFlow's `{PREFIX}-{epoch ms}-{n}` ids, from `today` so a seed always gives the same ones."""
        self.serial += 1
        stamp = int(datetime.combine(self.today, time(6, 0), tzinfo=UTC).timestamp() * 1000) + self.serial
        return f"{prefix}-{stamp}-{self.rng.randint(1, 999)}"

    def _recipients(self, organization: str, count: int) -> list[str]:
        domain = "permian.example.com" if organization == "permian-ops" else "bakken.example.com"
        people = ("ops", "production", "field.supervisor", "compliance", "hse", "engineering")
        return [f"{name}@{domain}" for name in self.rng.sample(people, count)]


def _instant(day: date, at: time) -> str:
    """`2025-09-05T00:00:00.000Z`: how JavaScript's toISOString() writes a UTC instant."""
    return datetime.combine(day, at).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
