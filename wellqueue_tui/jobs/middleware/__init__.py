"""WellQueue's Dramatiq middleware, one concern each (jobs/broker.py builds the stack in this order):
PauseGate hands back messages of paused queues, DestinationGate holds back jobs bound for a destination whose
breaker is open (and counts attempts per destination), Heartbeat keeps the process and its running jobs visible,
Attempts decides each delivery's Outcome for the consumer's finish script, JobContexts gives processors
their JobContext."""

from .attempts import Attempts
from .destinations import DestinationGate
from .heartbeat import Heartbeat
from .job_context import JobContexts
from .outcome import Outcome, outcome_of
from .pause import PauseGate

__all__ = ["Attempts", "DestinationGate", "Heartbeat", "JobContexts", "Outcome", "PauseGate", "outcome_of"]
