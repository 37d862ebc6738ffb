"""Loads the registry's Lua scripts (each prefixed with the shared prelude in lua/common.lua) and binds them
to one deployment's key prefix, which every registry script takes as ARGV[1]."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script

from .keys import KeySchema

LUA_DIR = Path(__file__).parent / "lua"
#: Registry scripts added by features (flows: flow.lua), kept apart so each addition merges as its own line.
FEATURE_SCRIPTS: tuple[str, ...] = (
    "flow",
    "search",
    "edit_data",
)
SCRIPT_NAMES = (
    "enqueue",
    "fetch",
    "finish",
    "mark_active",
    "requeue",
    "resubmit",
    "remove",
    "heartbeat",
    "poison",
    "reconcile",
    "failure_groups",
)


@cache
def script_source(name: str) -> str:
    prelude = (LUA_DIR / "common.lua").read_text()
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class PrefixedScript:
    """One registry script whose ARGV[1] is always the key prefix; callers pass only the script's own args."""

    def __init__(self, script: Script, prefix: str) -> None:
        self._script = script
        self._prefix = prefix

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = (), client: Any = None) -> Any:
        return self._script(keys=list(keys), args=[self._prefix, *args], client=client)

    def queue_evalsha(self, pipe: Any, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> None:
        """Queue this script on `pipe` as a bare EVALSHA: unlike a registered script, no SCRIPT EXISTS round
        trip before the pipeline; the caller loads it (`load`) and runs the pipeline again on NOSCRIPT."""
        pipe.execute_command("EVALSHA", self._script.sha, len(keys), *keys, self._prefix, *args)

    def load(self, client: Any) -> None:
        self._script.sha = client.script_load(self._script.script)


class RegistryScripts:
    """The registry scripts registered on one client (EVALSHA, reloaded by redis-py after a restart)."""

    enqueue: PrefixedScript
    fetch: PrefixedScript
    finish: PrefixedScript
    mark_active: PrefixedScript
    requeue: PrefixedScript
    resubmit: PrefixedScript
    remove: PrefixedScript
    heartbeat: PrefixedScript
    poison: PrefixedScript
    flow: PrefixedScript
    reconcile: PrefixedScript
    search: PrefixedScript
    edit_data: PrefixedScript
    failure_groups: PrefixedScript

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.keys = keys
        for name in (*SCRIPT_NAMES, *FEATURE_SCRIPTS):
            setattr(self, name, PrefixedScript(client.register_script(script_source(name)), keys.prefix))
