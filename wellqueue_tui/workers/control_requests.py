"""Scale and restart requests from any console, applied to this host's supervisor; a request it cannot
serve is refused with a warning, never raised into the refresh loop."""

from __future__ import annotations

import logging
from typing import Protocol

from .worker_records import ControlRequest

logger = logging.getLogger(__name__)


class SupervisorError(ValueError):
    """A scale or restart request names something this supervisor does not have, or goes out of bounds."""


class Controllable(Protocol):
    def scale(self, group: str, delta: int) -> int: ...

    def restart(self, process_id: str) -> None: ...


def apply_request(target: Controllable, request: ControlRequest) -> None:
    """Carry out one control request on `target`, logging why when it cannot."""
    try:
        if request.action == "scale" and request.group is not None and request.delta:
            target.scale(request.group, request.delta)
        elif request.action == "restart" and request.worker_id is not None:
            target.restart(request.worker_id)
        else:
            logger.warning("Ignored an incomplete control request: %s", request.model_dump_json())
    except SupervisorError as exc:
        logger.warning("Control request %s refused: %s", request.action, exc)
