"""The search language of `/` and `:search`: field-qualified terms (`error:timeout well:WELL-TX-0001
state:failed age:>2h`) plus free text, parsed into a `SearchQuery`, and the one predicate (`matches`) that
says whether a job fits it. Pure: the Lua scan (lua/search.lua) applies the same rules inside Redis."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from ..durations import DurationError, parse_duration
from .models import STATES, JobSummary

#: Qualifiers and what they test; `queue` and `state` take several values (comma-separated or repeated).
QUALIFIERS = {
    "error": "the job's last error contains this text",
    "well": "the payload's wellId is this value",
    "org": "the job's organization (its kind's tenant field) is this value",
    "kind": "the job kind contains this text",
    "queue": "only these queues (comma-separated)",
    "state": "only these states (comma-separated)",
    "age": "created more (>) or less (<) than this long ago, e.g. age:>2h",
}
#: Payload field a `well:` term compares.
WELL_FIELD = "wellId"


class QueryError(ValueError):
    """A search that cannot run; the message names the term at fault and what to write instead."""


@dataclass(frozen=True)
class SearchQuery:
    """What a search looks for. Empty tuples and None mean "any"; every given test must hold."""

    text: str = ""  # as typed, for titles and the audit entry
    queues: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    error: str | None = None  # lower-cased
    well: str | None = None
    org: str | None = None
    kind: str | None = None  # lower-cased
    older_than_s: float | None = None  # age:>…
    newer_than_s: float | None = None  # age:<…
    words: tuple[str, ...] = ()  # free text, lower-cased; each must appear in the payload or the id

    @property
    def filters_jobs(self) -> bool:
        """Whether any test looks inside the records (otherwise every job of the chosen sets matches)."""
        return any(
            value is not None for value in (self.error, self.well, self.org, self.kind, self.older_than_s)
        ) or bool(self.newer_than_s is not None or self.words)


def parse_query(text: str, queues: list[str] | None = None) -> SearchQuery:
    """The query `text` asks for; `queues` (the known ones), when given, checks `queue:` names."""
    try:
        terms = shlex.split(text)
    except ValueError:
        raise QueryError('a quote is not closed; write error:"connection refused" with both quotes') from None
    found: dict[str, object] = {}
    names: list[str] = []
    states: list[str] = []
    words: list[str] = []
    for term in terms:
        field, colon, value = term.partition(":")
        field = field.lower()
        if not colon or field not in QUALIFIERS:
            if colon and field.isalpha() and value and not value.startswith("/"):  # a URL is free text
                known = ", ".join(f"{name}:" for name in QUALIFIERS)
                raise QueryError(f"unknown qualifier {field + ':'!r} in {term!r}; use one of {known}")
            words.append(term.lower())
            continue
        if not value:
            raise QueryError(f"{term!r} needs a value: {field}:VALUE ({QUALIFIERS[field]})")
        if field == "queue":
            names.extend(_listed(value, term, queues, "queue"))
        elif field == "state":
            states.extend(_listed(value, term, [str(s) for s in STATES], "state"))
        elif field in found or (field == "age" and ("age>" in found or "age<" in found)):
            raise QueryError(f"{field}: is given twice ({term!r}); keep one")
        elif field == "age":
            found.update(_age(value, term))
        else:
            found[field] = value
    error, kind = found.get("error"), found.get("kind")
    return SearchQuery(
        text=text.strip(),
        queues=tuple(dict.fromkeys(names)),
        states=tuple(dict.fromkeys(states)),
        error=str(error).lower() if error is not None else None,
        well=_str(found.get("well")),
        org=_str(found.get("org")),
        kind=str(kind).lower() if kind is not None else None,
        older_than_s=_float(found.get("age>")),
        newer_than_s=_float(found.get("age<")),
        words=tuple(words),
    )


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _listed(value: str, term: str, allowed: list[str] | None, what: str) -> list[str]:
    names = [name for name in value.split(",") if name]
    for name in names:
        if allowed is not None and name not in allowed:
            close = [known for known in allowed if known.startswith(name[:3])]
            hint = f"; did you mean {', '.join(close[:5])}?" if close else f"; known: {', '.join(allowed[:10])}"
            raise QueryError(f"no {what} named {name!r} in {term!r}{hint}")
    return names


def _age(value: str, term: str) -> dict[str, float]:
    sign, amount = value[:1], value[1:]
    if sign not in "<>" or not sign:
        raise QueryError(f"{term!r}: write age:>2h (older than 2 hours) or age:<30m (newer than 30 minutes)")
    try:
        seconds = parse_duration(amount).total_seconds()
    except DurationError as exc:
        raise QueryError(f"{term!r}: {exc}") from None
    return {f"age{sign}": seconds}


def matches(query: SearchQuery, job: JobSummary, now: float) -> bool:
    """Whether `job` fits `query` at time `now` (epoch seconds); queue and state are the scan's choice of sets,
    tested here too so that the in-memory console source can use this alone."""
    if query.queues and job.queue not in query.queues:
        return False
    if query.states and job.state not in query.states:
        return False
    if query.error is not None and query.error not in (job.error or "").lower():
        return False
    data = job.data if isinstance(job.data, dict) else {}
    if query.well is not None and str(data.get(WELL_FIELD, "")) != query.well:
        return False
    if query.org is not None and job.org != query.org:
        return False
    if query.kind is not None and query.kind not in job.kind.lower():
        return False
    created = job.created_at
    if query.older_than_s is not None and (created is None or now - created <= query.older_than_s):
        return False
    if query.newer_than_s is not None and (created is None or now - created >= query.newer_than_s):
        return False
    if query.words:
        haystack = f"{job.id} {json.dumps(data, sort_keys=True, default=str)}".lower()  # as the record stores it
        return all(word in haystack for word in query.words)
    return True
