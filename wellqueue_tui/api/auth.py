"""Who is calling: `Authorization: Bearer <JWT>` verified with the operator-token machinery, or, in dev mode
(embedded Redis, no secret: as the CLI), the local identity for loopback callers without a token.
Tokens in the URL are refused: URLs end up in logs, history and Referer headers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiohttp import web

from ..auth.identity import LOCAL_DEV, Identity
from ..auth.secrets import SigningKey
from ..auth.tokens import TokenError, verify_token
from .errors import ApiError

URL_TOKEN_PARAMETERS = ("access_token", "token", "jwt")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]", "::1"}


@dataclass(frozen=True)
class Verifier:
    """The configured token key, and whether tokenless loopback calls act as the local dev identity."""

    key: SigningKey
    dev_mode: bool

    def identify(self, request: web.Request) -> Identity:
        """The caller's identity, or a 401 ApiError saying why none was accepted."""
        for name in URL_TOKEN_PARAMETERS:
            if name in request.query:
                raise ApiError(
                    400,
                    "token_in_url",
                    f"tokens are never read from the URL (parameter {name!r}); "
                    "send the header Authorization: Bearer <token>",
                    field=name,
                )
        header = request.headers.get("Authorization")
        if header is None:
            if self.dev_mode and _is_local(request):
                return LOCAL_DEV
            raise unauthorized(
                "send the header Authorization: Bearer <token> (`wellqueue token issue` makes one)", error_code=None
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header must be `Bearer <token>`", error_code="invalid_request")
        try:
            return verify_token(self.key, token.strip())
        except TokenError as exc:
            raise unauthorized(f"token refused: {exc}", error_code="invalid_token") from None


def unauthorized(detail: str, *, error_code: str | None) -> ApiError:
    challenge = 'Bearer realm="wellqueue"'
    if error_code:
        challenge += f', error="{error_code}"'
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def _is_local(request: web.Request) -> bool:
    """A loopback peer that also named a loopback host (a DNS-rebinding page names its own host)."""
    try:
        peer_is_loopback = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return peer_is_loopback and host.lower() in _LOOPBACK_NAMES
