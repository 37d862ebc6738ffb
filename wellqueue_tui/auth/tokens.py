"""Operator tokens (JWT): issue, verify with pinned algorithms and required claims, find the caller's token."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.auth.secrets import SigningKey, SigningKeyError, is_dev_mode, load_signing_key, refuse_shared_file

if TYPE_CHECKING:
    from wellqueue_tui.settings import Settings

REQUIRED_CLAIMS = ("exp", "iat", "sub", "role", "iss", "aud")
LEEWAY_SECONDS = 30
DEFAULT_TTL = timedelta(hours=8)
MAX_TTL = timedelta(days=366)
#: Our tokens are a few hundred bytes; anything far longer is refused before parsing.
MAX_TOKEN_CHARS = 4096
TOKEN_ENV = "WELLQUEUE_TOKEN"
TOKEN_FILE_ENV = "WELLQUEUE_TOKEN_FILE"
TOKEN_FILE_NAME = "token"
CLI_TOKEN_WARNING = (
    "warning: a token given on the command line is visible in `ps` and your shell history; "
    f"prefer {TOKEN_ENV} or a chmod 600 token file"
)
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_ROLE_NAMES = "ADMIN, OPERATOR or MANAGER"
_CLAIM_RULES = {
    "sub": "claim 'sub' must be 1 to 128 printable characters",
    "org": "claim 'org' must be 1 to 64 letters, digits, '.', '_' or '-'",
    "iat": "claim 'iat' must be a number of seconds",
    "exp": "claim 'exp' must be a number of seconds",
}


class TokenError(ValueError):
    """A token was refused (or cannot be made); the message says why and never contains the token."""


class AuthRequired(Exception):
    """This WellQueue needs a token and none was given; the message says how to get one."""


class TokenClaims(BaseModel):
    """The claims WellQueue puts in a token, validated after the signature checks out."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)

    sub: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")
    role: Role
    # The org names Redis keys (wq:org:{org}:...), so it is limited to a key-safe alphabet.
    org: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    iss: str
    aud: str | list[str]
    iat: int
    exp: int

    @property
    def identity(self) -> Identity:
        return Identity(sub=self.sub, role=self.role, org=self.org)


def issue_token(
    key: SigningKey,
    *,
    sub: str,
    role: Role | str,
    org: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
    issuer: str | None = None,
    audience: str | None = None,
    now: datetime | None = None,
) -> str:
    """A signed token for `sub` with `role` (and `org` scope), valid for `ttl` from `now`."""
    if key.signing_key is None:  # key.can_issue, spelled out so the type checker narrows it
        raise SigningKeyError(
            f"cannot issue tokens with only the public key {key.source}: set WELLQUEUE_JWT_PRIVATE_KEY_FILE "
            "to the matching private key (mode 0600), or issue tokens where that key lives"
        )
    if not timedelta(0) < ttl <= MAX_TTL:
        raise TokenError(f"ttl must be more than 0s and at most {MAX_TTL.days}d")
    issued = int((now or datetime.now(UTC)).timestamp())
    try:
        claims = TokenClaims(
            sub=sub,
            role=role,
            org=org,
            iss=issuer or key.issuer,
            aud=audience or key.audience,
            iat=issued,
            exp=issued + int(ttl.total_seconds()),
        )
    except ValidationError as exc:
        raise _claims_error(exc, {"sub": sub, "role": role, "org": org}) from None
    return jwt.encode(claims.model_dump(exclude_none=True), key.signing_key, algorithm=key.algorithm)


def read_claims(
    key: SigningKey,
    token: str | bytes,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: float = LEEWAY_SECONDS,
) -> TokenClaims:
    """The verified claims of `token`, or TokenError saying exactly why it is refused."""
    text = _token_text(token)
    try:
        payload = jwt.decode(
            text,
            key.verifying_key,
            algorithms=[key.algorithm],  # pinned by the configured key, never taken from the token
            audience=audience or key.audience,
            issuer=issuer or key.issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
        )
    except jwt.PyJWTError as exc:  # InvalidKeyError is a PyJWTError but not an InvalidTokenError
        raise _refusal(exc, text, key) from None
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise TokenError("not a JWT (the token cannot be decoded)") from None
    try:
        return TokenClaims.model_validate(payload)
    except ValidationError as exc:
        raise _claims_error(exc, payload) from None


def verify_token(
    key: SigningKey,
    token: str | bytes,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: float = LEEWAY_SECONDS,
) -> Identity:
    """Who the token names, after checking signature, algorithm, expiry, issuer, audience and claims."""
    return read_claims(key, token, issuer=issuer, audience=audience, leeway=leeway).identity


def default_token_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / TOKEN_FILE_NAME


def resolve_token(cli_token: str | None, env: Mapping[str, str], token_file: Path) -> str | None:
    """The caller's token: --token, then WELLQUEUE_TOKEN, then WELLQUEUE_TOKEN_FILE or `token_file`; None if none."""
    if cli_token:
        return cli_token.strip()
    if env.get(TOKEN_ENV, "").strip():
        return env[TOKEN_ENV].strip()
    explicit = env.get(TOKEN_FILE_ENV, "").strip()
    path = Path(explicit).expanduser() if explicit else token_file
    if not path.exists():
        if explicit:
            raise TokenError(f"{TOKEN_FILE_ENV} names {path}, which does not exist")
        return None
    try:
        refuse_shared_file(path, "the token file")
        token = path.read_text(encoding="utf-8", errors="replace").strip()
    except SigningKeyError as exc:
        raise TokenError(str(exc)) from None
    except OSError as exc:
        raise TokenError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise TokenError(f"the token file {path} is empty; put a token from `wellqueue token issue` in it")
    return token


def authenticate(settings: Settings, cli_token: str | None = None, env: Mapping[str, str] | None = None) -> Identity:
    """The caller's identity: LOCAL_DEV in dev mode without a token, else a verified token (AuthRequired if none)."""
    env = os.environ if env is None else env
    token = resolve_token(cli_token, env, default_token_file(settings))
    if token is None:
        if is_dev_mode(settings):
            return LOCAL_DEV
        raise AuthRequired(
            "this WellQueue needs an operator token: ask an admin to run "
            "`wellqueue token issue --sub YOUR_NAME --role OPERATOR` and put the token in "
            f"{TOKEN_ENV} or in {default_token_file(settings)} (chmod 600)"
        )
    return verify_token(load_signing_key(settings, env), token)


def _token_text(token: str | bytes) -> str:
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise TokenError("not a JWT (a token is plain ASCII)") from None
    if not isinstance(token, str) or not token.strip():
        raise TokenError("not a JWT (the token is empty)")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError(f"not a JWT (longer than {MAX_TOKEN_CHARS} characters)")
    if not _JWT_SHAPE.fullmatch(token):
        raise TokenError("not a JWT (expected three base64url parts separated by dots)")
    return token


def _refusal(exc: jwt.PyJWTError, token: str, key: SigningKey) -> TokenError:
    """Turn PyJWT's exception into one specific, token-free message."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return TokenError("token expired; ask an admin for a new one (`wellqueue token issue`)")
    if isinstance(exc, jwt.InvalidSignatureError):
        return TokenError("signature does not match: the token was signed with a different key")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return TokenError(f"algorithm {_header_alg(token)} is not accepted (this WellQueue verifies {key.algorithm})")
    if isinstance(exc, jwt.InvalidAudienceError):
        return TokenError(f"wrong audience: this WellQueue accepts tokens for {key.audience!r}")
    if isinstance(exc, jwt.InvalidIssuerError):
        return TokenError(f"wrong issuer: this WellQueue accepts tokens issued by {key.issuer!r}")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return TokenError(f"missing claim {exc.claim!r}")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return TokenError("token is not valid yet (issued in the future: check the clocks of issuer and server)")
    if isinstance(exc, jwt.InvalidIssuedAtError):
        return TokenError("claim 'iat' must be a number of seconds")
    if isinstance(exc, jwt.exceptions.InvalidSubjectError):
        return TokenError(_CLAIM_RULES["sub"])
    if isinstance(exc, jwt.InvalidKeyError):
        return TokenError(
            f"the configured {key.algorithm} key cannot verify tokens ({key.source}); fix the key setting"
        )
    if isinstance(exc, jwt.DecodeError) and "claim" in str(exc):
        return TokenError("a time claim (exp or nbf) is not a number of seconds")
    if isinstance(exc, jwt.DecodeError):
        return TokenError("not a JWT (the token cannot be decoded)")
    return TokenError("token refused: it has an unsupported header or claim")


def _header_alg(token: str) -> str:
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        alg = None
    if isinstance(alg, str) and len(alg) <= 16 and alg.isascii() and alg.isprintable():
        return repr(alg)
    return "(missing or malformed)"


def _claims_error(exc: ValidationError, claims: Mapping[str, object]) -> TokenError:
    """The first claim problem as a sentence; the role is named so a typo is obvious."""
    field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else "claims"
    if field == "role":
        role = claims.get("role")
        if isinstance(role, str) and len(role) <= 32 and role.isascii() and role.isprintable():
            return TokenError(f"unknown role {role!r} (use {_ROLE_NAMES})")
        return TokenError(f"claim 'role' must be one of {_ROLE_NAMES}")
    return TokenError(_CLAIM_RULES.get(field, f"claim {field!r} has the wrong type"))
