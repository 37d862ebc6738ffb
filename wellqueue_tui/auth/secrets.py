"""The key that signs and verifies operator tokens: an HS256 secret (configured or generated) or an RS/ES key pair."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from wellqueue_tui.settings import Settings

#: RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
SECRET_FILE_NAME = "jwt_secret"
PRIVATE_KEY_ENV = "WELLQUEUE_JWT_PRIVATE_KEY_FILE"
HS256 = "HS256"
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class _Names(TypedDict):
    issuer: str
    audience: str


class SigningKeyError(ValueError):
    """The token key cannot be loaded or used; the message names the setting or file and the fix."""


@dataclass(frozen=True)
class SigningKey:
    """One algorithm and its key material; verification only ever accepts `algorithm`."""

    algorithm: str
    verifying_key: Any = field(repr=False)  # secret bytes (HS256) or a public key object
    signing_key: Any | None = field(repr=False)  # None: this process can verify but not issue
    issuer: str = "wellqueue"
    audience: str = "wellqueue"
    source: str = ""  # where the key came from, for messages
    key_file: Path | None = None  # the file holding the signing material, if it came from one

    @property
    def can_issue(self) -> bool:
        return self.signing_key is not None


def is_dev_mode(settings: Settings) -> bool:
    """True for a local session: no secret or public key configured and the embedded Redis (no REDIS_URL)."""
    return settings.jwt_secret is None and settings.jwt_public_key_file is None and settings.redis_url is None


def load_signing_key(settings: Settings, env: Mapping[str, str] | None = None) -> SigningKey:
    """The configured key: WELLQUEUE_JWT_SECRET, a public key file (plus an optional private key file),
    or else a secret generated on first use in the data dir."""
    env = os.environ if env is None else env
    names: _Names = {"issuer": settings.jwt_issuer, "audience": settings.jwt_audience}
    if settings.jwt_secret is not None and settings.jwt_public_key_file is not None:
        raise SigningKeyError(
            "both WELLQUEUE_JWT_SECRET and WELLQUEUE_JWT_PUBLIC_KEY_FILE are set: choose one "
            "(HS256 and RS/ES tokens are never accepted by the same verifier)"
        )
    if settings.jwt_public_key_file is not None:
        return _key_pair(Path(settings.jwt_public_key_file), env.get(PRIVATE_KEY_ENV) or None, names)
    if settings.jwt_secret is not None:
        secret = _checked_secret(
            settings.jwt_secret.get_secret_value().encode("utf-8"),
            "WELLQUEUE_JWT_SECRET",
            "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )
        return SigningKey(HS256, secret, secret, source="WELLQUEUE_JWT_SECRET", **names)
    path = Path(settings.data_dir) / SECRET_FILE_NAME
    fix = "delete the file to generate a new secret (every issued token stops working)"
    secret = _checked_secret(_read_or_create_secret(path), str(path), fix)
    return SigningKey(HS256, secret, secret, source=str(path), key_file=path, **names)


def refuse_shared_file(path: Path, what: str) -> None:
    """Raise unless `path` is a regular file with no group or world permissions (it holds a credential)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise SigningKeyError(f"{what} {path} is not a regular file")
    if info.st_mode & 0o077:
        raise SigningKeyError(
            f"{what} {path} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run `chmod 600 {path}` and try again"
        )


def _checked_secret(secret: bytes, source: str, fix: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise SigningKeyError(
            f"the HS256 secret from {source} is {len(secret)} bytes; it must be at least {MIN_SECRET_BYTES} ({fix})"
        )
    try:
        jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.InvalidKeyError:
        # A PEM/SSH public key used as an HMAC secret is the classic algorithm-confusion setup.
        raise SigningKeyError(
            f"the HS256 secret from {source} looks like a public or private key; use WELLQUEUE_JWT_PUBLIC_KEY_FILE "
            "for RS/ES keys and a random string for WELLQUEUE_JWT_SECRET"
        ) from None
    return secret


def _read_or_create_secret(path: Path) -> bytes:
    return read_or_create_secret(path, "the JWT secret file")


def read_or_create_secret(path: Path, what: str) -> bytes:
    """The random secret kept in `path` (0600), created on first use; refused if others can read it."""
    if not path.exists():
        _create_secret_file(path)
    refuse_shared_file(path, what)
    return path.read_bytes().strip()


def _create_secret_file(path: Path) -> None:
    """Write a fresh random secret, 0600, without ever exposing a half-written or world-readable file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # atomic and refuses to replace: a concurrent first run keeps its secret
    finally:
        temporary.unlink(missing_ok=True)


def _key_pair(public_file: Path, private_file: str | None, names: _Names) -> SigningKey:
    public_key = _load_public_key(public_file)
    algorithm = _algorithm_for(public_key, public_file)
    private_key = None
    if private_file is not None:
        private_key = _load_private_key(Path(private_file))
        if _public_der(private_key.public_key()) != _public_der(public_key):
            raise SigningKeyError(
                f"{PRIVATE_KEY_ENV} ({private_file}) does not belong to the public key in "
                f"WELLQUEUE_JWT_PUBLIC_KEY_FILE ({public_file})"
            )
    return SigningKey(
        algorithm,
        public_key,
        private_key,
        source=str(public_file),
        key_file=Path(private_file) if private_file else None,
        **names,
    )


def _load_public_key(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read WELLQUEUE_JWT_PUBLIC_KEY_FILE {path}: {exc.strerror}") from None
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        raise SigningKeyError(
            f"WELLQUEUE_JWT_PUBLIC_KEY_FILE {path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)"
        ) from None


def _load_private_key(path: Path) -> Any:
    try:
        refuse_shared_file(path, PRIVATE_KEY_ENV)
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read {PRIVATE_KEY_ENV} {path}: {exc.strerror}") from None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningKeyError(
            f"{PRIVATE_KEY_ENV} {path} is encrypted; provide an unencrypted PEM key (mode 0600)"
        ) from None
    except ValueError:
        raise SigningKeyError(f"{PRIVATE_KEY_ENV} {path} is not a PEM private key") from None


def _algorithm_for(public_key: Any, path: Path) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name in _EC_ALGORITHMS:
        return _EC_ALGORITHMS[public_key.curve.name]
    raise SigningKeyError(
        f"WELLQUEUE_JWT_PUBLIC_KEY_FILE {path} holds an unsupported key type; "
        "use RSA (RS256) or EC P-256/384/521 (ES256/384/512)"
    )


def _public_der(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
