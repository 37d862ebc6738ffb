"""Human durations such as `8h`, `30m`, `2d`, `90s` or `1h30m`, for token lifetimes and `--older-than`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d{1,9})([smhdw])")
_WHOLE = re.compile(r"(?:\d{1,9}[smhdw])+")
#: Longer than anything a queue or a token needs; keeps the arithmetic far from timedelta's limits.
MAX_DURATION = timedelta(days=3650)


class DurationError(ValueError):
    """The text is not a duration WellQueue understands; the message shows the accepted form."""


def parse_duration(text: str) -> timedelta:
    """Parse `<number><unit>` parts (units s, m, h, d, w), e.g. `90s`, `8h`, `1h30m`; zero is allowed."""
    cleaned = text.strip().lower() if isinstance(text, str) else ""
    if not _WHOLE.fullmatch(cleaned):
        shown = text[:20] if isinstance(text, str) else type(text).__name__
        raise DurationError(
            f"bad duration {shown!r}: use a whole number and a unit (s, m, h, d, w), e.g. 90s, 30m, 8h, 2d"
        )
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(cleaned))
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"duration {cleaned!r} is too long: at most {MAX_DURATION.days}d")
    return timedelta(seconds=seconds)
