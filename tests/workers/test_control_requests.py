"""Control requests applied to a stand-in supervisor: scale, restart, incomplete and refused requests."""

from __future__ import annotations

import logging

from wellqueue_tui.workers.control_requests import SupervisorError, apply_request
from wellqueue_tui.workers.worker_records import ControlRequest


class Target:
    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple] = []
        self.refuse = refuse

    def scale(self, group: str, delta: int) -> int:
        if self.refuse:
            raise SupervisorError(f"no worker group {group!r}")
        self.calls.append(("scale", group, delta))
        return 2

    def restart(self, process_id: str) -> None:
        self.calls.append(("restart", process_id))


def test_scale_and_restart_requests_reach_the_supervisor():
    target = Target()
    apply_request(target, ControlRequest(action="scale", group="webhooks", delta=-1))
    apply_request(target, ControlRequest(action="restart", worker_id="h:1:webhooks:0"))
    assert target.calls == [("scale", "webhooks", -1), ("restart", "h:1:webhooks:0")]


def test_an_incomplete_request_is_ignored_with_a_warning(caplog):
    target = Target()
    with caplog.at_level(logging.WARNING):
        apply_request(target, ControlRequest(action="scale", group="webhooks", delta=0))
        apply_request(target, ControlRequest(action="restart"))
    assert target.calls == []
    assert sum("incomplete control request" in r.getMessage() for r in caplog.records) == 2


def test_a_refused_request_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING):
        apply_request(Target(refuse=True), ControlRequest(action="scale", group="nope", delta=1))
    assert any("refused: no worker group 'nope'" in r.getMessage() for r in caplog.records)
