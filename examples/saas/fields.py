"""Payload pieces the SaaS kinds share."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, StringConstraints

PAYLOAD_CONFIG = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)

OrganizationId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
Identifier = OrganizationId
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,253}$")]
