"""S1: operator tokens under attack. Random text, random base64url parts, real tokens with one byte changed,
swapped algorithms, tampered claims and every row of the JWT table: none accepted, only TokenError raised,
each check in well under 5 ms. One valid token per role is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import HS256, SigningKey
from wellqueue_tui.auth.tokens import MAX_TOKEN_CHARS, TokenError, issue_token, verify_token

from .conftest import fuzz_settings, note, ran

pytestmark = pytest.mark.security

SECRET = b"wellqueue-security-fuzz-secret-0123456789abcdef"
KEY = SigningKey(HS256, SECRET, SECRET, source="test secret")
ATTACKER_SECRET = b"attacker-chosen-secret-0123456789abcdef-xyz"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAX_MEAN_MS = 5.0
NOW = int(datetime.now(UTC).timestamp())

REAL_TOKENS = {
    role: issue_token(KEY, sub=f"{role.value.lower()}-user", role=role, org=org)
    for role, org in ((Role.ADMIN, None), (Role.OPERATOR, "acme"), (Role.MANAGER, "acme.north"))
}
VALID_CLAIMS = jwt.decode(REAL_TOKENS[Role.OPERATOR], SECRET, algorithms=["HS256"], audience="wellqueue")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(
    header: dict | str,
    claims: dict | str,
    secret: bytes | None = SECRET,
    signature: bytes | None = None,
    digest=hashlib.sha256,
) -> str:
    """A token with any header and claims, HMAC-signed with `secret` (or carrying `signature` as given)."""
    head = b64((header if isinstance(header, str) else json.dumps(header)).encode())
    body = b64((claims if isinstance(claims, str) else json.dumps(claims)).encode())
    signing_input = f"{head}.{body}".encode()
    if signature is None:
        signature = hmac.new(secret, signing_input, digest).digest() if secret is not None else b""
    return f"{head}.{body}.{b64(signature)}"


class Verifier:
    """Runs verifications, keeping the time they took; anything but TokenError or a refusal fails the test."""

    def __init__(self, key: SigningKey = KEY) -> None:
        self.key = key
        self.count = 0
        self.seconds = 0.0

    def refuses(self, token: Any) -> str:
        started = time.perf_counter()
        try:
            identity = verify_token(self.key, token)
        except TokenError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"accepted {token!r:.200} as {identity}")
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1
        assert message.strip()
        if isinstance(token, str) and len(token) > 20:
            assert token not in message, "the refusal repeats the token"
        return message

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / max(1, self.count)


FUZZED = Verifier()


@pytest.fixture(scope="module", autouse=True)
def report_fuzz_timing():
    yield
    if FUZZED.count:
        note(f"token fuzz: {FUZZED.count} tokens refused, mean {FUZZED.mean_ms:.3f} ms per verification")
        assert FUZZED.mean_ms < MAX_MEAN_MS


# --- strategies -------------------------------------------------------------------------------------------


@st.composite
def flipped_tokens(draw) -> str:
    """A real token with one character replaced by a different one."""
    token = REAL_TOKENS[draw(st.sampled_from(list(REAL_TOKENS)))]
    position = draw(st.integers(0, len(token) - 1))
    replacement = draw((st.sampled_from(B64URL + ".=+/ ") | st.characters()).filter(lambda c: c != token[position]))
    return token[:position] + replacement + token[position + 1 :]


ALGORITHMS = [
    "none",
    "None",
    "NONE",
    "nOnE",
    "",
    "HS512",
    "HS384",
    "RS256",
    "ES256",
    "PS256",
    "EdDSA",
    "HS256 ",
    "hs256",
]


@st.composite
def swapped_algorithms(draw) -> str:
    alg = draw(st.sampled_from(ALGORITHMS))
    header = {"alg": alg, "typ": "JWT"} if draw(st.booleans()) else {"alg": alg}
    style = draw(st.sampled_from(["unsigned", "original", "hmac-same-secret", "random"]))
    if style == "unsigned":
        return forge(header, VALID_CLAIMS, secret=None)
    if style == "original":
        return forge(header, VALID_CLAIMS, signature=unb64(REAL_TOKENS[Role.OPERATOR].split(".")[2]))
    if style == "hmac-same-secret":  # a correct signature, under the algorithm the header names
        digest = {"HS512": hashlib.sha512, "HS384": hashlib.sha384}.get(alg, hashlib.sha256)
        return forge(header, VALID_CLAIMS, digest=digest)
    return forge(header, VALID_CLAIMS, signature=draw(st.binary(max_size=80)))


ROLE_NAMES = {role.value for role in Role}
bad_roles = st.one_of(
    st.text(max_size=12).filter(lambda r: r not in ROLE_NAMES),
    st.sampled_from(["admin", "Admin", "ADMIN ", " ADMIN", "ROOT", "SUPERUSER", "ADMIN\x00"]),
    st.lists(st.sampled_from(sorted(ROLE_NAMES)), min_size=1, max_size=2),
    st.integers(),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
CLAIM_MUTATIONS: dict[str, st.SearchStrategy] = {
    "delete": st.sampled_from(["exp", "iat", "sub", "role", "iss", "aud"]),
    "role": bad_roles,
    # Margins of an hour: the clock moves on between import (NOW) and verification.
    "exp": st.integers(NOW - 10**8, NOW - 3600) | st.sampled_from(["tomorrow", "", None, [], {}]),
    "iat": st.integers(NOW + 3600, NOW + 10**8) | st.sampled_from(["yesterday", None, [], {}]),
    "nbf": st.integers(NOW + 3600, NOW + 10**8) | st.sampled_from(["soon", [], {}]),
    "iss": st.text(max_size=20).filter(lambda value: value != "wellqueue") | st.integers() | st.none(),
    "aud": st.text(max_size=20).filter(lambda value: value != "wellqueue")
    | st.lists(st.text(max_size=10).filter(lambda value: value != "wellqueue"), max_size=3)
    | st.integers(),
    "sub": st.sampled_from(["", "x" * 129, "ops\x1b]52;c;ZXZpbA==\x07", "a\nb", "\x9b"]) | st.integers() | st.none(),
    "org": st.sampled_from(["", "acme/../other", "acme:q", "a" * 65, "acme*", "acme org", "\u202eacme"])
    | st.integers(),
}


@st.composite
def tampered_claims(draw) -> str:
    """Claims broken in one to three ways, signed with the right key: only claim checks stand in the way."""
    claims = dict(VALID_CLAIMS)
    names = draw(st.lists(st.sampled_from(sorted(CLAIM_MUTATIONS)), min_size=1, max_size=3, unique=True))
    for name in names:
        value = draw(CLAIM_MUTATIONS[name])
        if name == "delete":
            claims.pop(value, None)
        else:
            claims[name] = value
    return forge({"alg": "HS256", "typ": "JWT"}, claims)


tokens = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.lists(st.text(B64URL, max_size=120), min_size=1, max_size=5).map(".".join),
    flipped_tokens(),
    swapped_algorithms(),
    tampered_claims(),
)


@fuzz_settings(2.0, replay=False)
@given(token=tokens)
def test_fuzzed_tokens_are_never_accepted(token) -> None:
    ran("tokens")
    FUZZED.refuses(token)


@fuzz_settings(0.5, replay=False)
@given(token=tampered_claims())
def test_tampered_claims_are_refused(token: str) -> None:
    ran("tokens: tampered claims")
    FUZZED.refuses(token)


@fuzz_settings(0.5, replay=False)
@given(token=flipped_tokens())
def test_one_changed_character_is_refused(token: str) -> None:
    ran("tokens: one character changed")
    FUZZED.refuses(token)


# --- the fixed corpus: every row of the JWT table, and the classics -------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(**changes: Any) -> dict:
    result = {**VALID_CLAIMS, **changes}
    return {name: value for name, value in result.items() if value is not _DROP}


_DROP = object()


def fixed_corpus() -> dict[str, Any]:
    other_key_token = issue_token(SigningKey(HS256, ATTACKER_SECRET, ATTACKER_SECRET), sub="mallory", role=Role.ADMIN)
    good_head, good_body, good_sig = REAL_TOKENS[Role.OPERATOR].split(".")
    admin_body = b64(json.dumps(claims(role="ADMIN", org=_DROP)).encode())
    return {
        "alg none, no signature": forge({"alg": "none"}, claims(role="ADMIN"), secret=None),
        "alg none, original signature": forge({"alg": "none"}, VALID_CLAIMS, signature=unb64(good_sig)),
        "alg HS512 signed with the secret": forge({"alg": "HS512"}, VALID_CLAIMS, digest=hashlib.sha512),
        "no exp": forge({"alg": "HS256"}, claims(exp=_DROP)),
        "no aud": forge({"alg": "HS256"}, claims(aud=_DROP)),
        "no iss": forge({"alg": "HS256"}, claims(iss=_DROP)),
        "no iat": forge({"alg": "HS256"}, claims(iat=_DROP)),
        "no sub": forge({"alg": "HS256"}, claims(sub=_DROP)),
        "no role": forge({"alg": "HS256"}, claims(role=_DROP)),
        "future iat": forge({"alg": "HS256"}, claims(iat=NOW + 3600)),
        "future nbf": forge({"alg": "HS256"}, claims(nbf=NOW + 3600)),
        "expired beyond leeway": forge({"alg": "HS256"}, claims(iat=NOW - 7200, exp=NOW - 60)),
        "exp as text": forge({"alg": "HS256"}, claims(exp="2999-01-01")),
        "iat NaN": forge({"alg": "HS256"}, json.dumps(claims(iat=float("nan")))),
        "exp Infinity": forge({"alg": "HS256"}, json.dumps(claims(exp=float("inf")))),
        "role as list": forge({"alg": "HS256"}, claims(role=["ADMIN"])),
        "role lowercase": forge({"alg": "HS256"}, claims(role="admin")),
        "wrong audience": forge({"alg": "HS256"}, claims(aud="someone-else")),
        "audience list without ours": forge({"alg": "HS256"}, claims(aud=["a", "b"])),
        "wrong issuer": forge({"alg": "HS256"}, claims(iss="evil")),
        "payload not an object": forge({"alg": "HS256"}, "[1, 2, 3]"),
        "payload not JSON": forge({"alg": "HS256"}, "role=ADMIN"),
        "header not JSON": forge("{alg: HS256", VALID_CLAIMS),
        "header not an object": forge('"HS256"', VALID_CLAIMS),
        "header crit": forge({"alg": "HS256", "crit": ["exp"], "exp": 1}, VALID_CLAIMS),
        "header kid traversal": forge(
            {"alg": "HS256", "kid": "../../../../dev/null"}, claims(role="ADMIN"), secret=b""
        ),
        "header jwk with attacker key": forge(
            {"alg": "HS256", "jwk": {"kty": "oct", "k": b64(ATTACKER_SECRET)}},
            claims(role="ADMIN"),
            secret=ATTACKER_SECRET,
        ),
        "header jku": forge(
            {"alg": "HS256", "jku": "https://evil.example/jwks.json"}, claims(role="ADMIN"), secret=ATTACKER_SECRET
        ),
        "signed with another key": other_key_token,
        "signed with an empty key": forge({"alg": "HS256"}, claims(role="ADMIN"), secret=b""),
        "admin claims, operator signature": f"{good_head}.{admin_body}.{good_sig}",
        "signature removed": f"{good_head}.{good_body}.",
        "signature segment missing": f"{good_head}.{good_body}",
        "four segments": f"{good_head}.{good_body}.{good_sig}.{good_sig}",
        "padding added": f"{good_head}==.{good_body}.{good_sig}",
        "whitespace inside": f"{good_head}. {good_body}.{good_sig}",
        "10 KB junk": "A" * 10_240,
        "10 KB of dots": "." * 10_240,
        "just over the length cap": "a." * (MAX_TOKEN_CHARS // 2) + "a",
        "empty": "",
        "blank": "   \n\t",
        "dots only": "..",
        "bytes, not ASCII": b"\xff\xfe.\xfa.\xfb",
        "bytes junk": b"abc.def.ghi",
        "none": None,
        "an integer": 12345,
        "a dict": {"alg": "none"},
        "Bearer prefix": "Bearer " + REAL_TOKENS[Role.ADMIN],
        "terminal escapes": "\x1b]52;c;ZXZpbA==\x07.\x1b[2J.x",
        "bidi": "\u202e" + REAL_TOKENS[Role.ADMIN],
    }


def test_fixed_corpus_is_refused_with_token_error_only() -> None:
    verifier = Verifier()
    for name, token in fixed_corpus().items():
        try:
            verifier.refuses(token)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    note(f"token corpus: {verifier.count} refused, mean {verifier.mean_ms:.3f} ms per verification")
    assert verifier.mean_ms < MAX_MEAN_MS


def test_rs256_verifier_refuses_hs256_signed_with_its_public_key(rsa_key) -> None:
    """The classic algorithm confusion: HS256 keyed with the RS256 verifier's public PEM."""
    private = rsa_key
    key = SigningKey("RS256", private.public_key(), private, source="test pair")
    assert verify_token(key, issue_token(key, sub="ops", role=Role.OPERATOR)).role == Role.OPERATOR
    verifier = Verifier(key)
    admin = claims(role="ADMIN", org=_DROP)
    for name, token in {
        "HS256 with public PEM": forge({"alg": "HS256"}, admin, secret=pem_public(private)),
        "HS256 with public DER": forge(
            {"alg": "HS256"},
            admin,
            secret=private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
        "none": forge({"alg": "none"}, admin, secret=None),
        "RS256 from another pair": issue_token(
            SigningKey("RS256", None, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            sub="m",
            role=Role.ADMIN,
        ),
        "ES256 token": jwt.encode(
            {**admin, "exp": NOW + 600}, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"
        ),
        "PS256 with the right key": jwt.encode({**admin, "exp": NOW + 600}, private, algorithm="PS256"),
        "RS512 with the right key": jwt.encode({**admin, "exp": NOW + 600}, private, algorithm="RS512"),
    }.items():
        try:
            verifier.refuses(token)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_short_secret_verifier_refuses_instead_of_crashing() -> None:
    """A 5-byte key: PyJWT raises InvalidKeyError (not an InvalidTokenError); it must surface as TokenError."""
    weak = SigningKey(HS256, b"short", b"short")
    token = forge({"alg": "HS256"}, VALID_CLAIMS, secret=b"short")
    message = Verifier(weak).refuses(token)
    assert "key" in message


@pytest.mark.parametrize("role", list(Role))
def test_one_valid_token_per_role_is_accepted(role: Role) -> None:
    org = None if role is Role.ADMIN else "acme"
    token = issue_token(KEY, sub=f"{role.value.lower()}@example.com", role=role, org=org, ttl=timedelta(minutes=5))
    identity = verify_token(KEY, token)
    assert (identity.sub, identity.role, identity.org) == (f"{role.value.lower()}@example.com", role, org)
    assert verify_token(KEY, token.encode()) == identity  # bytes as well as text
    assert verify_token(KEY, f"  {token}\n") == identity  # surrounding whitespace from a token file
