"""Short human forms of ages, durations, counts and times for table cells and panels."""

from __future__ import annotations

from datetime import UTC, datetime


def age(seconds: float | None) -> str:
    """`42s`, `5m`, `3h`, `2d`; `-` when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration(ms: float | None) -> str:
    """`850ms`, `1.2s`, `3m05s`, `2h10m`; `-` when unknown."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{int(ms)}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def count(value: int) -> str:
    """Thousands separated: `1,204`."""
    return f"{value:,}"


def timestamp(epoch: float | None) -> str:
    """UTC wall time to the second, `2025-06-15 14:06:40Z`; `-` when unknown."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def percent(fraction: float | None) -> str:
    """`2.9%`; `-` when there is nothing to divide."""
    return "-" if fraction is None else f"{fraction * 100:.1f}%"


def progress_bar(percent_done: float, width: int = 6) -> str:
    """A cell-sized bar with the number: `███░░░ 50%`."""
    filled = round(max(0.0, min(100.0, percent_done)) / 100 * width)
    return "█" * filled + "░" * (width - filled) + f" {percent_done:.0f}%"


def zoned_time(moment: datetime | None) -> str:
    """An aware time in its own zone, to the minute, with the zone's abbreviation: `06-16 02:00 CDT`."""
    if moment is None:
        return "-"
    return f"{moment:%m-%d %H:%M} {moment.tzname() or ''}".rstrip()


def short_timestamp(epoch: float | None) -> str:
    """UTC month-day and time to the second, `06-15 14:06:40Z`; `-` when unknown."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%m-%d %H:%M:%SZ")


def ago(seconds: float | None) -> str:
    """`5m ago`; `-` when it never happened."""
    return "-" if seconds is None else f"{age(seconds)} ago"
