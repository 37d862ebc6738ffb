"""The Lua scripts and the key schema agree: every script's header names each KEYS and ARGV slot its body
reads, every key name a header spells is one the schema builds, no script hard-codes a registry prefix,
and the one Lua helper that builds registry names builds exactly the schema's names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wellqueue_tui.jobs.keys import KeySchema
from wellqueue_tui.jobs.scripts import FEATURE_SCRIPTS, LUA_DIR, SCRIPT_NAMES

LEADER_SCRIPTS = sorted((Path(LUA_DIR).parents[1] / "workers").glob("*.lua"))
REGISTRY_SCRIPTS = [LUA_DIR / f"{name}.lua" for name in (*SCRIPT_NAMES, *FEATURE_SCRIPTS)]
ALL_LUA = sorted(LUA_DIR.glob("*.lua")) + LEADER_SCRIPTS

#: The schema rendered with placeholders, as headers write names: {prefix}:job:{id}, {ns}:{q}.msgs, ...
TEMPLATE = KeySchema(namespace="{ns}", prefix="{prefix}")
QUEUE = TEMPLATE.queue("{q}")
SCHEMA_NAMES = {
    TEMPLATE.queues,
    TEMPLATE.paused,
    TEMPLATE.brokers,
    TEMPLATE.workers,
    TEMPLATE.schedules,
    TEMPLATE.leader,
    TEMPLATE.audit,
    TEMPLATE.job("{id}"),
    TEMPLATE.job_log("{id}"),
    TEMPLATE.tomb("{id}"),
    TEMPLATE.job_children("{id}"),
    TEMPLATE.job_pending("{id}"),
    TEMPLATE.job_results("{id}"),
    TEMPLATE.job_ignored("{id}"),
    TEMPLATE.state("{queue}", "{state}"),
    TEMPLATE.state("{queue}", "{state}", "{org}"),
    TEMPLATE.stats("{queue}", "{minute}"),
    TEMPLATE.fetch_batch("{token}"),
    TEMPLATE.failure_groups,
    TEMPLATE.failure_group("{group}"),
    TEMPLATE.failure_group_jobs("{group}"),
    TEMPLATE.failure_group_hours("{group}"),
    TEMPLATE.failure_group_values("{group}", "{field}"),
    TEMPLATE.acks_prefix("{broker}") + "{q}",
    TEMPLATE.acks_stem,
    TEMPLATE.queue_limits("{q}"),
    TEMPLATE.rate_window("{q}"),
    QUEUE.ready,
    QUEUE.msgs,
    QUEUE.prioritized,
    QUEUE.priority_seq,
    QUEUE.delayed,
    QUEUE.delayed_msgs,
    QUEUE.wake,
    QUEUE.delayed_wake,
    QUEUE.dead,
    QUEUE.dead_msgs,
}
NAME_IN_HEADER = re.compile(r"\{(?:prefix|ns)\}:[^\s,()]+")
SLOT = re.compile(r"\b(KEYS|ARGV)\[(\d+)\]")
ARGV_RANGE = re.compile(r"ARGV\[(\d+)\.\.(\d*)\]")


def header_and_body(path: Path) -> tuple[str, str]:
    lines = path.read_text().splitlines()
    count = next(i for i, line in enumerate(lines) if not line.startswith("--"))
    return "\n".join(lines[:count]), "\n".join(lines[count:])


def declared(header: str) -> dict[str, set[int] | int]:
    """The KEYS and ARGV indexes a header names; an open range `ARGV[5..]` declares everything from 5 on."""
    slots: dict[str, set[int]] = {"KEYS": set(), "ARGV": set()}
    for kind, index in SLOT.findall(header):
        slots[kind].add(int(index))
    open_from = 0
    for first, last in ARGV_RANGE.findall(header):
        if last:
            slots["ARGV"].update(range(int(first), int(last) + 1))
        else:
            open_from = int(first)
    return {"KEYS": slots["KEYS"], "ARGV": slots["ARGV"], "ARGV_OPEN_FROM": open_from}


@pytest.mark.parametrize("path", ALL_LUA, ids=lambda p: p.name)
def test_no_script_hard_codes_a_registry_prefix(path: Path):
    source = path.read_text()
    assert not re.search(r"""['"]wq:""", source), f"{path.name} spells a 'wq:' key; take it from KEYS or ARGV"


@pytest.mark.parametrize("path", REGISTRY_SCRIPTS + LEADER_SCRIPTS, ids=lambda p: p.name)
def test_the_header_names_every_slot_the_body_reads(path: Path):
    header, body = header_and_body(path)
    slots = declared(header)
    for kind, index in SLOT.findall(body):
        number = int(index)
        ok = number in slots[kind] or (kind == "ARGV" and slots["ARGV_OPEN_FROM"] and number >= slots["ARGV_OPEN_FROM"])
        assert ok, f"{path.name} reads {kind}[{number}] but its header does not name it"
    assert slots["KEYS"] == set(range(1, len(slots["KEYS"]) + 1)), f"{path.name}: KEYS slots must run 1..n"


@pytest.mark.parametrize("path", REGISTRY_SCRIPTS, ids=lambda p: p.name)
def test_every_registry_script_takes_the_key_prefix_as_argv_1(path: Path):
    header, _body = header_and_body(path)
    assert re.search(r"^-- ARGV\[1\] key prefix", header, re.MULTILINE), f"{path.name}: ARGV[1] must be the key prefix"


@pytest.mark.parametrize("path", ALL_LUA, ids=lambda p: p.name)
def test_every_key_name_in_a_header_is_one_the_schema_builds(path: Path):
    header, _body = header_and_body(path)
    for name in NAME_IN_HEADER.findall(header):
        assert name in SCHEMA_NAMES, f"{path.name} names {name!r}, which KeySchema/QueueKeys never build"


def test_the_lua_helper_builds_the_schemas_names(redis_client):
    prefix = "tenant-a:wq"
    schema = KeySchema("tenant-a", prefix)
    probe = (
        (LUA_DIR / "common.lua").read_text()
        + """
return {job_key('j:1'), tomb_key('j:1'), stats_key('mail', 29000000), state_key('mail', nil, 'failed'),
        state_key('mail', 'acme', 'active'), flow_key('j:1', 'children'), flow_key('j:1', 'pending'),
        flow_key('j:1', 'results'), flow_key('j:1', 'ignored'), registry_key('failures'), failure_key('g1'),
        failure_key('g1', 'jobs'), failure_key('g1', 'hours'), failure_key('g1', 'values', 'wellId')}"""
    )
    names = [n.decode() for n in redis_client.eval(probe, 0, prefix)]
    assert names == [
        schema.job("j:1"),
        schema.tomb("j:1"),
        schema.stats("mail", 29000000),
        schema.state("mail", "failed"),
        schema.state("mail", "active", "acme"),
        schema.job_children("j:1"),
        schema.job_pending("j:1"),
        schema.job_results("j:1"),
        schema.job_ignored("j:1"),
        schema.failure_groups,
        schema.failure_group("g1"),
        schema.failure_group_jobs("g1"),
        schema.failure_group_hours("g1"),
        schema.failure_group_values("g1", "wellId"),
    ]
