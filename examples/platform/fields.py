"""Payload pieces the platform kinds share: the strict config and the document's BaseJobData."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

PAYLOAD_CONFIG = ConfigDict(extra="forbid", hide_input_in_errors=True, str_strip_whitespace=True)

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,253}$")]


class BaseJobData(BaseModel):
    """What every platform job may carry besides its own fields."""

    model_config = PAYLOAD_CONFIG

    userId: Identifier | None = None
    tenantId: Identifier | None = None
    correlationId: Identifier | None = None
