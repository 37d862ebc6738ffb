"""Payload pieces the job kinds share: the strict model config, id and e-mail address types, and the
bounded JSON-object check."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

PAYLOAD_CONFIG = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:/#-]*$")]
OrganizationId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
EmailAddress = Annotated[
    str,
    StringConstraints(
        max_length=254,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    ),
]

#: The organizationId pattern of the email-notifications and webhooks payloads.
ORGANIZATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

MAX_JSON_DEPTH = 20


def check_json_object(value: dict, *, max_bytes: int) -> dict:
    """Accept a dict only if it is plain JSON (str keys, finite numbers), at most 20 deep and `max_bytes` long.

    Walks iteratively, so hostile nesting cannot hit Python's recursion limit.
    """
    budget = max_bytes  # every node costs at least one byte of JSON
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise ValueError(f"must be at most {max_bytes} bytes of JSON")
        if isinstance(node, dict):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"must be nested at most {MAX_JSON_DEPTH} levels deep")
            for key, item in node.items():
                if not isinstance(key, str):
                    raise ValueError("must have text keys only")
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"must be nested at most {MAX_JSON_DEPTH} levels deep")
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("must not contain NaN or infinite numbers")
        elif node is not None and not isinstance(node, (str, int, float, bool)):
            raise ValueError(f"must hold JSON values only, found {type(node).__name__}")
    if len(json.dumps(value, ensure_ascii=False).encode()) > max_bytes:
        raise ValueError(f"must be at most {max_bytes} bytes of JSON")
    return value
