"""Loads the registry's Lua scripts (each prefixed with the shared prelude in lua/common.lua)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import redis

LUA_DIR = Path(__file__).parent / "lua"
SCRIPT_NAMES = ("enqueue", "fetch", "finish", "mark_active", "requeue", "resubmit", "remove", "heartbeat", "poison")


@cache
def script_source(name: str) -> str:
    prelude = (LUA_DIR / "common.lua").read_text()
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class RegistryScripts:
    """The registry scripts registered on one client (EVALSHA, reloaded by redis-py after a restart)."""

    def __init__(self, client: redis.Redis) -> None:
        for name in SCRIPT_NAMES:
            setattr(self, name, client.register_script(script_source(name)))
