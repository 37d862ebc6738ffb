"""Paths inside a pack's data area, and atomic file writes."""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import suppress
from pathlib import Path

from wellqueue_tui.jobs.kind import PermanentJobError


def pack_dir(data_dir: Path, pack: str, *parts: str) -> Path:
    """`{data_dir}/{pack}/{parts…}`, created."""
    path = Path(data_dir, pack, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def inside(base: Path, given: str, field: str) -> Path:
    """`given` resolved under `base`; refuses absolute paths outside it and `..` escapes, naming `field`."""
    base = base.resolve()
    candidate = Path(given)
    path = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if path != base and base not in path.parents:
        raise PermanentJobError(f"{field}: {given!r} is outside {base}; give a path inside it")
    return path


def safe_name(text: str) -> str:
    """`text` as one file-name component (letters, digits, `._-`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text).strip("._") or "_"


def write_atomic(path: Path, content: bytes) -> Path:
    """Write `content` to `path` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(content)
        os.replace(temp_name, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp_name)
        raise
    return path
