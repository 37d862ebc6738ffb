"""Each WellFlow kind's example payload (where the console starts a new job) is one its model accepts."""

from __future__ import annotations

import pytest

from wellqueue_tui.jobs.edit import payload_problems
from wellqueue_tui.jobs.kind import all_kinds

KINDS = all_kinds()


@pytest.mark.parametrize("queue", sorted(KINDS))
def test_the_example_is_a_valid_payload(queue: str):
    kind = KINDS[queue]
    assert kind.example, f"{queue} has no example payload"
    assert payload_problems(kind, kind.example) == []
