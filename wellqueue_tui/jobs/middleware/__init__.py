"""WellQueue's Dramatiq middleware, one concern each (jobs/broker.py builds the stack in this order):
PauseGate hands back messages of paused queues, Heartbeat keeps the process and its running jobs visible,
Attempts decides each delivery's Outcome for the consumer's finish script, JobContexts gives processors
their JobContext."""

from .attempts import Attempts
from .heartbeat import Heartbeat
from .job_context import JobContexts
from .outcome import Outcome, outcome_of
from .pause import PauseGate

__all__ = ["Attempts", "Heartbeat", "JobContexts", "Outcome", "PauseGate", "outcome_of"]
