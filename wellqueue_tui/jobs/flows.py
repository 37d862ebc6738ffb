"""Flows (BullMQ's FlowProducer): a parent job with children, which may have children. A parent waits in
`waiting-children` until every child has completed, then runs with their results in `ctx.children_results`.
The whole tree is created by one script (lua/flow.lua); each child's end settles its parent in the same script
that finishes the child (lua/common.lua, flow_child_ended), so no crash leaves an orphan or a stuck parent.

A flow is written as BullMQ writes one (and `wellqueue enqueue-flow @flow.json` reads it):

    {"queue": "reports", "data": {...}, "opts": {"jobId": "r-1", "priority": 2},
     "children": [{"queue": "data-exports", "data": {...}, "opts": {"failParentOnFailure": true}}, ...]}

`queue` names the queue or kind (BullMQ's `queueName` and `name` are accepted too). `opts` takes every
`enqueue` option in BullMQ's spelling or ours (jobId/job_id, delay/delay_ms, timeout/timeout_ms, attempts,
backoff, priority, removeOnComplete, removeOnFail), and on a child `failParentOnFailure` (the parent fails,
naming the child, when the child fails for good) or `ignoreDependencyOnFailure` (the child's failure is
recorded in the parent's `ctx.children_failures` and the parent runs without it). A child with neither keeps
its parent waiting when it fails, until it is retried and completes. A parent cannot be delayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dramatiq.common import q_name

from .submission import EnqueueError, prepare_message

#: Most jobs one flow may hold; bounds every read of a parent's children sets.
MAX_FLOW_JOBS = 1000
#: Most levels below the root.
MAX_FLOW_DEPTH = 20

_OPTION_NAMES = {
    "jobId": "job_id",
    "job_id": "job_id",
    "priority": "priority",
    "delay": "delay_ms",
    "delay_ms": "delay_ms",
    "attempts": "attempts",
    "backoff": "backoff",
    "timeout": "timeout_ms",
    "timeout_ms": "timeout_ms",
    "removeOnComplete": "remove_on_complete",
    "remove_on_complete": "remove_on_complete",
    "removeOnFail": "remove_on_fail",
    "remove_on_fail": "remove_on_fail",
}
_FAIL_PARENT = ("failParentOnFailure", "fail_parent_on_failure")
_IGNORE_FAILURE = ("ignoreDependencyOnFailure", "ignore_dependency_on_failure")
_NODE_FIELDS = {"queue", "queueName", "name", "kind", "data", "payload", "opts", "children"}


@dataclass(frozen=True)
class FlowSpec:
    """One job of a flow as the caller wrote it, checked for shape (payloads are validated at submit)."""

    queue: str
    data: Any
    options: dict[str, Any]
    fail_parent_on_failure: bool = False
    ignore_dependency_on_failure: bool = False
    children: tuple[FlowSpec, ...] = ()
    where: str = "flow"  # the path of this node in the document, for error messages

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class FlowJob:
    """What `enqueue_flow` created: each job's id and queue, in the tree's shape."""

    id: str
    queue: str
    children: tuple[FlowJob, ...] = field(default_factory=tuple)
    created: bool = True  # False: the root's jobId existed already and nothing was enqueued (no children shown)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "queue": self.queue,
            "created": self.created,
            "children": [c.as_dict() for c in self.children],
        }


def parse_flow(document: Any, where: str = "flow", depth: int = 0) -> FlowSpec:
    """The flow tree of a BullMQ-style document; EnqueueError names the node and field at fault."""
    if not isinstance(document, dict):
        raise EnqueueError(f"{where}: a flow job must be a JSON object with queue, data, opts and children")
    unknown = sorted(set(document) - _NODE_FIELDS)
    if unknown:
        raise EnqueueError(f"{where}: unknown field {unknown[0]!r}; use queue, data, opts and children")
    queue = document.get("queue") or document.get("queueName") or document.get("kind") or document.get("name")
    if not isinstance(queue, str) or not queue:
        raise EnqueueError(f"{where}: missing queue (the queue or kind name of this job)")
    opts = document.get("opts") or {}
    if not isinstance(opts, dict):
        raise EnqueueError(f"{where}.opts: must be an object")
    options: dict[str, Any] = {}
    fail_parent = ignore_failure = False
    for name, value in opts.items():
        if name in _FAIL_PARENT or name in _IGNORE_FAILURE:
            if not isinstance(value, bool):
                raise EnqueueError(f"{where}.opts.{name}: must be true or false")
            fail_parent = fail_parent or (name in _FAIL_PARENT and value)
            ignore_failure = ignore_failure or (name in _IGNORE_FAILURE and value)
        elif name in _OPTION_NAMES:
            options[_OPTION_NAMES[name]] = value
        else:
            raise EnqueueError(f"{where}.opts: unknown option {name!r}; known: {', '.join(sorted(_OPTION_NAMES))}")
    if fail_parent and ignore_failure:
        raise EnqueueError(f"{where}.opts: choose failParentOnFailure or ignoreDependencyOnFailure, not both")
    if (fail_parent or ignore_failure) and depth == 0:
        raise EnqueueError(f"{where}.opts: failParentOnFailure and ignoreDependencyOnFailure apply to children only")
    children = document.get("children") or []
    if not isinstance(children, list):
        raise EnqueueError(f"{where}.children: must be a list of flow jobs")
    if children and depth >= MAX_FLOW_DEPTH:
        raise EnqueueError(f"{where}: a flow may be at most {MAX_FLOW_DEPTH} levels deep")
    if children and options.get("delay_ms"):
        raise EnqueueError(f"{where}.opts.delay: a parent runs when its children are done; it cannot be delayed")
    data = document["data"] if "data" in document else document.get("payload", {})
    spec = FlowSpec(
        queue=queue,
        data=data,
        options=options,
        fail_parent_on_failure=fail_parent,
        ignore_dependency_on_failure=ignore_failure,
        children=tuple(parse_flow(c, f"{where}.children[{i}]", depth + 1) for i, c in enumerate(children)),
        where=where,
    )
    if depth == 0:
        size = sum(1 for _ in spec.walk())
        if size > MAX_FLOW_JOBS:
            raise EnqueueError(f"{where}: {size} jobs in one flow, over the limit of {MAX_FLOW_JOBS}")
    return spec


def enqueue_flow(flow: dict | FlowSpec, *, broker) -> FlowJob:
    """Validate every job of the flow (nothing is enqueued if one is invalid), then create the whole tree in
    one script call. A root `jobId` that exists already enqueues nothing (the result says `created=False`)."""
    spec = flow if isinstance(flow, FlowSpec) else parse_flow(flow)
    nodes: list[dict] = []
    messages: list[tuple[Any, int | None]] = []
    tree = _prepare(spec, broker, "", nodes, messages)
    ids = [n["id"] for n in nodes]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise EnqueueError(f"jobId {duplicate!r} appears twice in the flow; every job needs its own id")
    code, job_id = broker.registry_scripts.flow(args=[json.dumps(nodes)])
    job_id = job_id.decode() if isinstance(job_id, bytes) else job_id
    if code == -1:
        raise EnqueueError(f"jobId {job_id!r} exists already or was removed moments ago; use another jobId")
    if code == 0:
        return FlowJob(tree.id, tree.queue, (), created=False)
    for message, delay in messages:
        broker.emit_after("enqueue", message, delay)
    return tree


def _prepare(spec: FlowSpec, broker, parent: str, nodes: list[dict], messages: list) -> FlowJob:
    """Append the script node of `spec` and of its descendants to `nodes`, parents first."""
    try:
        message, delay = prepare_message(broker, spec.queue, spec.data, **spec.options)
    except TypeError as exc:
        raise EnqueueError(f"{spec.where}: {exc}") from None
    except EnqueueError as exc:
        raise EnqueueError(f"{spec.where}: {exc}") from None
    if spec.children:
        message = message.copy(options={"wq_children": len(spec.children)})
    message, _keys, args = broker._prepare(message, None if spec.children else delay, True)
    stored = dict(zip(_ENQUEUE_ARGS, args))
    index = len(nodes)
    nodes.append(
        {
            "id": message.message_id,
            "queue": stored["queue"],
            "kind": stored["kind"],
            "rid": stored["rid"],
            "payload": stored["payload"].decode("utf-8"),
            "state": stored["state"],
            "eta": str(stored["eta"]),
            "priority": str(stored["priority"]),
            "data": stored["data"],
            "options": stored["options"],
            "max_attempts": str(stored["max_attempts"]),
            "org": stored["org"],
            "parent": parent,
            "fpf": "1" if spec.fail_parent_on_failure else "",
            "ido": "1" if spec.ignore_dependency_on_failure else "",
            "mq": broker.keys.queue(q_name(message.queue_name)).ready,
            "children": [],
        }
    )
    messages.append((message, None if spec.children else delay))
    children = tuple(_prepare(child, broker, message.message_id, nodes, messages) for child in spec.children)
    nodes[index]["children"] = [c.id for c in children]
    return FlowJob(message.message_id, stored["queue"], children)


#: The order of enqueue.lua's own arguments, as WellQueueBroker._prepare returns them.
_ENQUEUE_ARGS = (
    "mode",
    "rid",
    "payload",
    "job_id",
    "queue",
    "kind",
    "state",
    "eta",
    "priority",
    "data",
    "options",
    "max_attempts",
    "org",
    "gen",
)
