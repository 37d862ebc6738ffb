"""Bounded reads of registry hashes: a field that does not fit the read's byte budget stays in Redis and comes
back as a `CutField` naming its size, so a huge record (planted or not) is never pulled on every refresh."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

#: Budget of one job's detail read (`get_job`): far above a stored 1 MiB payload with its traceback and result.
RECORD_READ_BYTES = 4 * 1024 * 1024
#: Budget of one list row or search candidate: a page of 50 rows reads at most about 3 MiB.
ROW_READ_BYTES = 64 * 1024


class CutField(bytes):
    """Stands in for a field left in Redis: reads as the marker "… cut: N bytes"; `size` is N."""

    size: int

    def __new__(cls, size: int) -> CutField:
        field = super().__new__(cls, f"… cut: {size} bytes".encode())
        field.size = size
        return field


@cache
def _source() -> str:
    return (Path(__file__).parent / "lua" / "bounded_hmget.lua").read_text()


def queue_bounded_hmget(pipe, key: str, fields: Sequence[str], budget: int) -> None:
    """Queue on `pipe` an HMGET of `fields` that replies with at most `budget` bytes of values (see `decode`)."""
    pipe.register_script(_source())(keys=[key], args=[budget, *fields], client=pipe)


def decode(reply: list | Exception) -> list[bytes | None] | Exception:
    """A queued read's reply as HMGET's values, each field that did not fit as a `CutField`; errors pass through."""
    if isinstance(reply, Exception):
        return reply
    return [CutField(value) if isinstance(value, int) else value for value in reply]
