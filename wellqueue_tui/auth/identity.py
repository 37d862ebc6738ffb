"""The operator behind a console or CLI call: a verified token's subject, role and tenant."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    MANAGER = "MANAGER"


@dataclass(frozen=True)
class Identity:
    sub: str
    role: Role
    org: str | None = None  # None: sees every organization
    dev_mode: bool = False  # local embedded Redis without a configured secret: no token needed

    @property
    def label(self) -> str:
        scope = f"@{self.org}" if self.org else ""
        return f"{self.sub} ({self.role}{scope})" + (" [dev mode]" if self.dev_mode else "")


#: The identity of a local dev session (embedded Redis, no JWT secret configured).
LOCAL_DEV = Identity(sub="local", role=Role.ADMIN, org=None, dev_mode=True)
