"""Search that reaches every job: walk the state sets a `SearchQuery` names (every queue and state unless it
says otherwise) in budgeted steps, one Lua call per step (lua/search.lua), yielding progress as it goes.

The bound, stated honestly: `org:` (and a tenant's scope) reads the organization's own index; every other
test is a scan that looks at each job of the chosen sets once, `SCAN_BUDGET` per Redis call, so a search
costs O(jobs in the chosen sets), not O(matches). Sets change while a scan walks them: a job that moves
to another state mid-scan may be seen in both (it is reported once) or in neither."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from ..connection import reply_texts
from .actions import _scripts
from .models import STATES, JobState, JobSummary
from .registry import ASCENDING_STATES, Registry
from .search_query import SearchQuery

#: Ids one script call looks at: a few milliseconds of Redis time, so other clients are served in between.
SCAN_BUDGET = 2000
#: The order a search walks the states of each queue in: where an incident's jobs are first, so the first
#: matches come early; completed jobs, the bulk of most registries, last.
SEARCH_ORDER = (
    JobState.FAILED,
    JobState.DELAYED,
    JobState.ACTIVE,
    JobState.WAITING,
    JobState.PRIORITIZED,
    JobState.WAITING_CHILDREN,
    JobState.COMPLETED,
)
#: Matches a search keeps at most; past it the scan stops and says so (narrow the query).
MAX_MATCHES = 200_000


@dataclass(frozen=True)
class StateSet:
    """One state set a search walks, with its size when the search began."""

    queue: str
    state: str
    key: str
    size: int


@dataclass(frozen=True)
class SearchMatch:
    """A job that fits, with the set it was found in (for the preview's breakdown)."""

    id: str
    queue: str
    state: str


@dataclass(frozen=True)
class SearchProgress:
    """One step of a search: the jobs looked at so far of `total`, the matches new in this step (with the rows
    of those among the first `show` matches), and whether the search ended (`done`) or stopped at the cap."""

    scanned: int
    total: int
    matches: tuple[SearchMatch, ...] = ()
    rows: tuple[JobSummary, ...] = ()
    done: bool = False
    capped: bool = False
    indexed: bool = False  # walked an organization's index instead of every job of the sets
    sets: int = 0


def search_sets(reg: Registry, query: SearchQuery, org: str | None = None) -> list[StateSet]:
    """The state sets `query` needs walked, for an operator scoped to `org` (None: every organization)."""
    if org is not None and query.org is not None and query.org != org:
        return []  # another organization's jobs: nothing this operator may see
    index_org = org or query.org
    queues = list(query.queues) or reg.known_queues()
    states = list(query.states) or [str(state) for state in STATES]
    states.sort(key=lambda state: SEARCH_ORDER.index(JobState(state)))
    pairs = [(state, queue) for state in states for queue in queues]
    with reg.client.pipeline(transaction=False) as pipe:
        for state, queue in pairs:
            pipe.zcard(reg.keys.state(queue, state, index_org))
        sizes = pipe.execute(raise_on_error=False)
    return [
        StateSet(queue, state, reg.keys.state(queue, state, index_org), size if isinstance(size, int) else 0)
        for (state, queue), size in zip(pairs, sizes)
    ]


def scan(
    reg: Registry, query: SearchQuery, org: str | None = None, *, show: int = 200, budget: int = SCAN_BUDGET
) -> Iterator[SearchProgress]:
    """Walk the sets step by step; stop iterating to cancel (nothing is held open in Redis between steps)."""
    sets = [s for s in search_sets(reg, query, org) if s.size]
    total = sum(s.size for s in sets)
    indexed = (org or query.org) is not None
    now_ms = reg.server_time() * 1000
    tests = [
        query.error or "",
        query.well or "",
        query.org or "",
        query.kind or "",
        "" if query.older_than_s is None else int(now_ms - query.older_than_s * 1000),
        "" if query.newer_than_s is None else int(now_ms - query.newer_than_s * 1000),
        json.dumps(list(query.words)),
    ]
    script = _scripts(reg).search
    scanned, found = 0, 0
    seen: set[str] = set()
    yield SearchProgress(0, total, indexed=indexed, sets=len(sets))
    for state_set in sets:
        offset = 0
        descending = "0" if JobState(state_set.state) in ASCENDING_STATES else "1"
        while True:
            reply = script(keys=[state_set.key], args=[offset, budget, descending, *tests])
            looked = int(reply[0])
            ids = [i for i in reply_texts(reply[1:], "replace") if i not in seen]
            seen.update(ids)
            offset += looked
            scanned += looked
            capped = found + len(ids) >= MAX_MATCHES
            ids = ids[: MAX_MATCHES - found]
            rows = tuple(reg._summaries(ids[: max(0, show - found)]))
            found += len(ids)
            matches = tuple(SearchMatch(i, state_set.queue, state_set.state) for i in ids)
            if capped:
                yield SearchProgress(scanned, max(total, scanned), matches, rows, True, True, indexed, len(sets))
                return
            if matches or looked:
                yield SearchProgress(scanned, max(total, scanned), matches, rows, indexed=indexed, sets=len(sets))
            if looked < budget:
                break
    yield SearchProgress(scanned, max(total, scanned), done=True, indexed=indexed, sets=len(sets))
