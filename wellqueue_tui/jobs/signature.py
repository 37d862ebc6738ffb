"""Failure signatures: what a job's error comes to once the parts that differ from job to job (ids, numbers,
UUIDs, paths, hosts, quoted values) are replaced, so failures with one cause fall into one group; and the
payload fields operators filter a group by. Pure functions: the worker computes them as a job fails for good."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

#: The longest signature kept (after normalization).
MAX_SIGNATURE = 200
#: The longest field value counted per group.
MAX_FIELD_VALUE = 80
#: Payload fields counted per group, as (name shown, where in the payload) in the order they are shown.
GROUP_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wellId", ("wellId",)),
    ("organizationId", ("organizationId",)),
    ("county", ("location", "county")),
    ("host", ("url",)),
)

_TYPE = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exceeded|Timeout|Warning|Failure|Exit|Interrupt)|[A-Z]\w*)(?=:|$)"
)

# Order matters: wider shapes first, so a URL is not cut into a host and a path.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"""(?<![\w'"])(['"])(?:(?!\1)[^\n]){0,400}\1(?![\w'"])"""), r"\1<value>\1"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "<time>"),
    (re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b\]?", re.IGNORECASE), "<ip>"),
    (re.compile(r"(?:(?<=\s)|^)(?:[A-Za-z]:\\|~?/|\./|\.\./)[^\s:,;'\"()]*"), "<path>"),
    (
        re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|local|internal)(?::\d+)?\b", re.I),
        "<host>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    # ids: a word holding a digit beside letters or joined by - _ : (WELL-TX-0001, RPT-17586-272, job_42, ab12)
    (re.compile(r"\b(?=[\w:-]*\d)(?=[\w:-]*[A-Za-z])[A-Za-z0-9]+(?:[-_:][A-Za-z0-9]+)+\b"), "<id>"),
    (re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z]+\d[A-Za-z0-9]*\b"), "<id>"),
    (re.compile(r"(?<![\w<])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?"), "<n>"),
)
_SPACES = re.compile(r"\s+")


def split_error(error: str) -> tuple[str, str]:
    """The exception type and the message of an error line `Type: message` (type "" when there is none)."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    match = _TYPE.match(first)
    if match is None:
        return "", first
    return match.group(1), first[match.end() :].removeprefix(":").strip()


def normalize_message(message: str) -> str:
    """The message with what varies from job to job replaced by placeholders (`<id>`, `<n>`, `<url>`…)."""
    text = message
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


def signature(error: str) -> str:
    """The failure signature of an error: `Type: normalized message`, at most `MAX_SIGNATURE` characters."""
    kind, message = split_error(error)
    normalized = normalize_message(message)
    text = f"{kind}: {normalized}" if kind and normalized else kind or normalized or "(no error message)"
    return text[:MAX_SIGNATURE]


def group_id(signature_text: str) -> str:
    """A short stable id for a signature (the key of its group in Redis)."""
    return hashlib.sha1(signature_text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def group_fields(payload: object) -> dict[str, str]:
    """The values of the fields operators filter failures by (`GROUP_FIELDS`), as found in a job's payload;
    a URL counts by its host. Missing, empty or non-scalar values are left out."""
    found: dict[str, str] = {}
    for name, path in GROUP_FIELDS:
        value: object = payload
        for step in path:
            value = value.get(step) if isinstance(value, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            continue
        text = str(value)
        if name == "host":
            try:
                text = urlsplit(text).hostname or ""
            except ValueError:
                text = ""
        if text:
            found[name] = text[:MAX_FIELD_VALUE]
    return found


def failure_group_args(error: str, payload: object) -> list[str]:
    """What the finish script takes to file a failed job into its group: group id, signature, fields (JSON)."""
    text = signature(error)
    return [group_id(text), text, json.dumps(group_fields(payload), sort_keys=True)]
