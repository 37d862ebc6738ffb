"""Tokens end to end: key loading, issuing, every refusal in the JWT table, token lookup, the token CLI."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.auth.secrets import SigningKey, SigningKeyError, is_dev_mode, load_signing_key
from wellqueue_tui.auth.tokens import (
    CLI_TOKEN_WARNING,
    AuthRequired,
    TokenError,
    authenticate,
    issue_token,
    read_claims,
    resolve_token,
    verify_token,
)
from wellqueue_tui.cli.tokens import add_audit_parser, add_token_parser, run_audit_command, run_token_command
from wellqueue_tui.durations import DurationError, parse_duration
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.settings import Settings

SECRET = "0123456789abcdef" * 2 + "-wellqueue-test"  # 47 bytes
OTHER_SECRET = "fedcba9876543210" * 2 + "-someone-else"


# --- fixtures and helpers ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the environment running the tests (WELLQUEUE_*, REDIS_URL) leaks into Settings()."""
    for name in list(os.environ):
        if name.startswith("WELLQUEUE_") or name == "REDIS_URL":
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**overrides) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(**overrides)

    return make


@pytest.fixture
def hs_settings(make_settings) -> Settings:
    """Production-like: an external Redis and a configured secret, so not dev mode."""
    return make_settings(jwt_secret=SECRET, redis_url="redis://redis.example:6379/0")


@pytest.fixture
def hs_key(hs_settings: Settings) -> SigningKey:
    return load_signing_key(hs_settings, env={})


@pytest.fixture(scope="module")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_file(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)
    return path


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"sub": "alice", "role": "OPERATOR", "iss": "wellqueue", "aud": "wellqueue", "iat": now, "exp": now + 3600}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict, payload: dict, secret: bytes) -> str:
    """An HS256 token signed without PyJWT's key checks (how an attacker would build one)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def refused(key: SigningKey, token) -> str:
    """The refusal message; also checks it never contains the token."""
    with pytest.raises(TokenError) as info:
        verify_token(key, token)
    message = str(info.value)
    if isinstance(token, str) and len(token) > 8:
        assert token not in message
    return message


# --- durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8h", timedelta(hours=8)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        (" 2W ", timedelta(weeks=2)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "8", "h", "-1h", "1.5h", "8x", "abc", "8 h", "h8", "99999999999d", "4000d"])
def test_parse_duration_refuses_with_the_accepted_form(text: str) -> None:
    with pytest.raises(DurationError, match=r"duration"):
        parse_duration(text)


# --- signing keys -------------------------------------------------------------------------------------


def test_generated_secret_file_is_private_and_reused(make_settings, tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path / "fresh" / "data")
    first = load_signing_key(settings, env={})
    secret_file = tmp_path / "fresh" / "data" / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    assert first.algorithm == "HS256" and len(first.verifying_key) >= 32
    assert first.key_file == secret_file
    assert load_signing_key(settings, env={}).verifying_key == first.verifying_key
    assert [p.name for p in secret_file.parent.iterdir()] == ["jwt_secret"]  # no temporary left behind


def test_world_readable_secret_file_is_refused(make_settings) -> None:
    settings = make_settings()
    load_signing_key(settings, env={})
    (settings.data_dir / "jwt_secret").chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signing_key(settings, env={})


def test_truncated_secret_file_is_refused(make_settings) -> None:
    settings = make_settings()
    write_file(settings.data_dir / "jwt_secret", "tooshort\n")
    with pytest.raises(SigningKeyError, match=r"8 bytes; it must be at least 32 \(delete the file"):
        load_signing_key(settings, env={})


def test_short_configured_secret_is_refused(make_settings) -> None:
    with pytest.raises(SigningKeyError, match="WELLQUEUE_JWT_SECRET is 5 bytes; it must be at least 32"):
        load_signing_key(make_settings(jwt_secret="short"), env={})


def test_public_key_pem_as_hmac_secret_is_refused(make_settings, rsa_private_key) -> None:
    with pytest.raises(SigningKeyError, match="looks like a public or private key"):
        load_signing_key(make_settings(jwt_secret=public_pem(rsa_private_key).decode()), env={})


def test_secret_and_public_key_together_are_refused(make_settings, rsa_private_key, tmp_path: Path) -> None:
    public_file = write_file(tmp_path / "pub.pem", public_pem(rsa_private_key), 0o644)
    with pytest.raises(SigningKeyError, match="choose one"):
        load_signing_key(make_settings(jwt_secret=SECRET, jwt_public_key_file=public_file), env={})


def test_signing_key_repr_hides_the_secret(hs_key: SigningKey) -> None:
    assert SECRET not in repr(hs_key)


def test_dev_mode_only_without_secret_public_key_and_redis_url(make_settings, tmp_path: Path) -> None:
    assert is_dev_mode(make_settings())
    assert not is_dev_mode(make_settings(jwt_secret=SECRET))
    assert not is_dev_mode(make_settings(redis_url="redis://localhost:6390/0"))
    assert not is_dev_mode(make_settings(jwt_public_key_file=tmp_path / "pub.pem"))


# --- round trips --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_round_trip_per_role(hs_key: SigningKey, role: Role) -> None:
    token = issue_token(hs_key, sub="alice", role=role)
    assert verify_token(hs_key, token) == Identity(sub="alice", role=role, org=None)


def test_round_trip_keeps_org_and_ttl(hs_key: SigningKey) -> None:
    token = issue_token(hs_key, sub="bob", role=Role.MANAGER, org="acme-east", ttl=timedelta(minutes=30))
    read = read_claims(hs_key, token)
    assert read.identity == Identity(sub="bob", role=Role.MANAGER, org="acme-east")
    assert read.exp - read.iat == 1800
    assert read.iss == "wellqueue" and read.aud == "wellqueue"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sub": ""}, "claim 'sub' must be 1 to 128"),
        ({"sub": "x" * 129}, "claim 'sub' must be 1 to 128"),
        ({"sub": "evil\x1b[2J"}, "claim 'sub' must be 1 to 128 printable"),
        ({"role": "ROOT"}, "unknown role 'ROOT' (use ADMIN, OPERATOR or MANAGER)"),
        ({"org": "a:q:other"}, "claim 'org' must be"),
        ({"org": ""}, "claim 'org' must be"),
        ({"ttl": timedelta(0)}, "ttl must be more than 0s"),
        ({"ttl": timedelta(days=400)}, "at most 366d"),
    ],
)
def test_issue_refuses_bad_claims(hs_key: SigningKey, overrides: dict, message: str) -> None:
    arguments = {"sub": "alice", "role": Role.OPERATOR, **overrides}
    with pytest.raises(TokenError) as info:
        issue_token(hs_key, **arguments)
    assert message in str(info.value)


# --- the JWT table from reliability.md §4 -------------------------------------------------------------


def test_alg_none_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    assert refused(hs_key, token).startswith("algorithm 'none' is not accepted")


def test_signed_with_another_key_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(), OTHER_SECRET, algorithm="HS256")
    assert refused(hs_key, token).startswith("signature does not match")


def test_other_hmac_algorithm_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(), SECRET + "x" * 20, algorithm="HS512")
    assert refused(hs_key, token).startswith("algorithm 'HS512' is not accepted (this WellQueue verifies HS256)")


def test_no_exp_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(exp=None), SECRET, algorithm="HS256")
    assert refused(hs_key, token) == "missing claim 'exp'"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "role", "iss", "aud"])
def test_each_missing_required_claim_is_refused(hs_key: SigningKey, claim: str) -> None:
    token = jwt.encode(claims(**{claim: None}), SECRET, algorithm="HS256")
    assert refused(hs_key, token) == f"missing claim '{claim}'"


def test_wrong_audience_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(aud="billing"), SECRET, algorithm="HS256")
    assert refused(hs_key, token).startswith("wrong audience")


def test_wrong_issuer_is_refused(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256")
    assert refused(hs_key, token).startswith("wrong issuer")


def test_unknown_role_is_refused_by_name(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(role="ROOT"), SECRET, algorithm="HS256")
    assert refused(hs_key, token) == "unknown role 'ROOT' (use ADMIN, OPERATOR or MANAGER)"


@pytest.mark.parametrize("role", [["ADMIN"], {"name": "ADMIN"}, 1, "admin"])
def test_role_must_be_exactly_a_role_name(hs_key: SigningKey, role) -> None:
    token = jwt.encode(claims(role=role), SECRET, algorithm="HS256")
    message = refused(hs_key, token)
    assert "role" in message and "ADMIN, OPERATOR or MANAGER" in message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sub": 42}, "claim 'sub' must be"),
        ({"sub": "x" * 129}, "claim 'sub' must be"),
        ({"org": "../../etc"}, "claim 'org' must be"),
        ({"exp": "tomorrow"}, "is not a number of seconds"),
        ({"iat": "yesterday"}, "claim 'iat' must be a number of seconds"),
    ],
)
def test_signed_but_malformed_claims_are_refused(hs_key: SigningKey, overrides: dict, message: str) -> None:
    token = jwt.encode(claims(**overrides), SECRET, algorithm="HS256")
    assert message in refused(hs_key, token)


def test_future_iat_beyond_leeway_is_refused_within_accepted(hs_key: SigningKey) -> None:
    now = datetime.now(UTC)
    future = issue_token(hs_key, sub="alice", role=Role.ADMIN, now=now + timedelta(seconds=120))
    assert refused(hs_key, future).startswith("token is not valid yet")
    slightly_ahead = issue_token(hs_key, sub="alice", role=Role.ADMIN, now=now + timedelta(seconds=10))
    assert verify_token(hs_key, slightly_ahead).role is Role.ADMIN


def test_expired_beyond_leeway_is_refused_within_accepted(hs_key: SigningKey) -> None:
    ttl = timedelta(hours=1)
    now = datetime.now(UTC)
    expired = issue_token(hs_key, sub="alice", role=Role.ADMIN, ttl=ttl, now=now - ttl - timedelta(seconds=60))
    assert refused(hs_key, expired).startswith("token expired")
    within_leeway = issue_token(hs_key, sub="alice", role=Role.ADMIN, ttl=ttl, now=now - ttl - timedelta(seconds=10))
    assert verify_token(hs_key, within_leeway).sub == "alice"


def test_key_shorter_than_32_bytes_is_refused_at_verification(hs_key: SigningKey) -> None:
    weak = SigningKey("HS256", b"12345", b"12345")
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, claims(), b"12345")
    assert refused(weak, token).startswith("the configured HS256 key cannot verify tokens")


@pytest.mark.parametrize(
    ("junk", "message"),
    [
        ("", "not a JWT (the token is empty)"),
        ("   \n", "not a JWT (the token is empty)"),
        ("hello", "not a JWT (expected three base64url parts"),
        ("a.b", "not a JWT (expected three base64url parts"),
        ("a.b.c.d", "not a JWT (expected three base64url parts"),
        ("Bearer abc.def.ghi", "not a JWT (expected three base64url parts"),
        ("abc.def.ghi", "not a JWT (the token cannot be decoded)"),
        ("x" * 10_240, "not a JWT (longer than 4096 characters)"),
        ("eyJ" + "A" * 10_240 + ".e30.", "not a JWT (longer than 4096 characters)"),
        (b"\xff\xfe.\x00.", "not a JWT (a token is plain ASCII)"),
        ("tök.en.x", "not a JWT (expected three base64url parts"),
        (None, "not a JWT (the token is empty)"),
    ],
)
def test_junk_is_refused_as_not_a_jwt(hs_key: SigningKey, junk, message: str) -> None:
    assert refused(hs_key, junk).startswith(message)


def test_deeply_nested_header_is_refused_without_recursion_error(hs_key: SigningKey) -> None:
    token = f"{b64(b'[' * 2500)}.{b64(b'{}')}.{b64(b'sig')}"
    assert refused(hs_key, token) == "not a JWT (the token cannot be decoded)"


def test_payload_that_is_not_an_object_is_refused(hs_key: SigningKey) -> None:
    not_an_object = ["not", "an", "object"]
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, not_an_object, SECRET.encode())  # type: ignore[arg-type]
    assert refused(hs_key, token) == "not a JWT (the token cannot be decoded)"


def test_critical_header_is_refused_without_echoing_it(hs_key: SigningKey) -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256", headers={"crit": ["\x1b]52;c;evil\x07"]})
    message = refused(hs_key, token)
    assert "\x1b" not in message and "evil" not in message


CLAIM_NAMES = ("sub", "role", "exp", "iat", "iss", "aud", "org")


def forged_token(alg: str, payload: dict, signature: bytes) -> str:
    """A well-formed JWT with any header alg, any claims and a random signature."""
    return f"{b64(json.dumps({'alg': alg}).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        st.lists(st.text("ABCDEFabcdef0123456789-_", max_size=80), min_size=3, max_size=3).map(".".join),
        st.builds(
            forged_token,
            st.sampled_from(["HS256", "none", "RS256", "HS512", "", "None"]),
            st.dictionaries(st.sampled_from(list(CLAIM_NAMES)), st.integers() | st.text()),
            st.binary(max_size=40),
        ),
    )
)
def test_random_tokens_are_never_accepted(hs_key: SigningKey, token) -> None:
    with pytest.raises(TokenError):
        verify_token(hs_key, token)


# --- RS256 / ES256 --------------------------------------------------------------------------------------


@pytest.fixture
def rs_settings(make_settings, rsa_private_key, tmp_path: Path) -> Settings:
    public_file = write_file(tmp_path / "keys" / "jwt.pub", public_pem(rsa_private_key), 0o644)
    return make_settings(jwt_public_key_file=public_file)


@pytest.fixture
def rs_env(rsa_private_key, tmp_path: Path) -> dict[str, str]:
    private_file = write_file(tmp_path / "keys" / "jwt.key", private_pem(rsa_private_key))
    return {"WELLQUEUE_JWT_PRIVATE_KEY_FILE": str(private_file)}


def test_rs256_round_trip(rs_settings: Settings, rs_env: dict[str, str]) -> None:
    key = load_signing_key(rs_settings, env=rs_env)
    assert key.algorithm == "RS256"
    token = issue_token(key, sub="carol", role=Role.ADMIN, org="acme")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    verifier = load_signing_key(rs_settings, env={})
    assert verify_token(verifier, token) == Identity(sub="carol", role=Role.ADMIN, org="acme")


def test_rs_verifier_refuses_hs256_tokens(rs_settings: Settings, rsa_private_key) -> None:
    verifier = load_signing_key(rs_settings, env={})
    assert refused(verifier, jwt.encode(claims(), SECRET, algorithm="HS256")).startswith(
        "algorithm 'HS256' is not accepted (this WellQueue verifies RS256)"
    )
    # The algorithm-confusion attack: HMAC keyed with the server's own public PEM.
    forged = hand_signed({"alg": "HS256", "typ": "JWT"}, claims(role="ADMIN"), public_pem(rsa_private_key))
    assert refused(verifier, forged).startswith("algorithm 'HS256' is not accepted")


def test_rs_verifier_refuses_a_token_from_another_key_pair(rs_settings: Settings) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), stranger, algorithm="RS256")
    assert refused(load_signing_key(rs_settings, env={}), token).startswith("signature does not match")


def test_issuing_with_only_a_public_key_says_what_is_missing(rs_settings: Settings) -> None:
    with pytest.raises(SigningKeyError, match="WELLQUEUE_JWT_PRIVATE_KEY_FILE"):
        issue_token(load_signing_key(rs_settings, env={}), sub="carol", role=Role.ADMIN)


def test_private_key_of_another_pair_is_refused(rs_settings: Settings, tmp_path: Path) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file = write_file(tmp_path / "other.key", private_pem(stranger))
    with pytest.raises(SigningKeyError, match="does not belong to the public key"):
        load_signing_key(rs_settings, env={"WELLQUEUE_JWT_PRIVATE_KEY_FILE": str(private_file)})


def test_world_readable_private_key_is_refused(rs_settings: Settings, rs_env: dict[str, str]) -> None:
    Path(rs_env["WELLQUEUE_JWT_PRIVATE_KEY_FILE"]).chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signing_key(rs_settings, env=rs_env)


def test_public_key_file_that_is_not_pem_is_refused(make_settings, tmp_path: Path) -> None:
    bogus = write_file(tmp_path / "jwt.pub", "not a key", 0o644)
    with pytest.raises(SigningKeyError, match="is not a PEM public key"):
        load_signing_key(make_settings(jwt_public_key_file=bogus), env={})


def test_es256_round_trip_and_rs256_refused(make_settings, rsa_private_key, tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    settings = make_settings(jwt_public_key_file=write_file(tmp_path / "ec.pub", public_pem(ec_key), 0o644))
    private_file = write_file(tmp_path / "ec.key", private_pem(ec_key))
    signer = load_signing_key(settings, env={"WELLQUEUE_JWT_PRIVATE_KEY_FILE": str(private_file)})
    assert signer.algorithm == "ES256"
    assert verify_token(signer, issue_token(signer, sub="dan", role=Role.MANAGER)).role is Role.MANAGER
    rs_token = jwt.encode(claims(), rsa_private_key, algorithm="RS256")
    assert refused(signer, rs_token).startswith("algorithm 'RS256' is not accepted (this WellQueue verifies ES256)")


# --- finding the caller's token -------------------------------------------------------------------------


def test_resolve_token_order(tmp_path: Path) -> None:
    default = write_file(tmp_path / "token", "from-default-file\n")
    named = write_file(tmp_path / "named", "from-named-file")
    env = {"WELLQUEUE_TOKEN": "from-env", "WELLQUEUE_TOKEN_FILE": str(named)}
    assert resolve_token("from-cli", env, default) == "from-cli"
    assert resolve_token(None, env, default) == "from-env"
    assert resolve_token(None, {"WELLQUEUE_TOKEN_FILE": str(named)}, default) == "from-named-file"
    assert resolve_token(None, {}, default) == "from-default-file"
    assert resolve_token(None, {}, tmp_path / "absent") is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_shared_token_file_is_refused(tmp_path: Path, mode: int) -> None:
    token_file = write_file(tmp_path / "token", "abc.def.ghi", mode)
    with pytest.raises(TokenError, match="chmod 600"):
        resolve_token(None, {}, token_file)


def test_missing_named_token_file_and_empty_file_are_errors(tmp_path: Path) -> None:
    with pytest.raises(TokenError, match=r"WELLQUEUE_TOKEN_FILE names .* which does not exist"):
        resolve_token(None, {"WELLQUEUE_TOKEN_FILE": str(tmp_path / "nope")}, tmp_path / "token")
    with pytest.raises(TokenError, match="is empty"):
        resolve_token(None, {}, write_file(tmp_path / "token", "\n"))


def test_authenticate_dev_mode_without_token_is_local_dev(make_settings) -> None:
    assert authenticate(make_settings(), env={}) is LOCAL_DEV


def test_authenticate_without_token_outside_dev_mode_says_how_to_get_one(hs_settings: Settings) -> None:
    with pytest.raises(AuthRequired, match=r"wellqueue token issue --sub YOUR_NAME --role OPERATOR"):
        authenticate(hs_settings, env={})


def test_authenticate_verifies_env_and_cli_tokens(hs_settings: Settings, hs_key: SigningKey) -> None:
    operator = issue_token(hs_key, sub="olga", role=Role.OPERATOR)
    manager = issue_token(hs_key, sub="mona", role=Role.MANAGER, org="acme")
    assert authenticate(hs_settings, env={"WELLQUEUE_TOKEN": operator}).sub == "olga"
    assert authenticate(hs_settings, cli_token=manager, env={"WELLQUEUE_TOKEN": operator}).org == "acme"
    with pytest.raises(TokenError, match="signature does not match"):
        authenticate(hs_settings, env={"WELLQUEUE_TOKEN": jwt.encode(claims(), OTHER_SECRET, algorithm="HS256")})


def test_authenticate_in_dev_mode_still_verifies_a_token_that_is_given(make_settings) -> None:
    settings = make_settings()
    token = issue_token(load_signing_key(settings, env={}), sub="dev", role=Role.MANAGER)
    write_file(settings.data_dir / "token", token)
    assert authenticate(settings, env={}) == Identity(sub="dev", role=Role.MANAGER)
    with pytest.raises(TokenError, match="not a JWT"):
        authenticate(settings, cli_token="garbage", env={})


# --- the token and audit subcommands ----------------------------------------------------------------------


@pytest.fixture
def cli() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wellqueue")
    commands = parser.add_subparsers(dest="command")
    add_token_parser(commands)
    add_audit_parser(commands)
    return parser


def test_cli_issue_then_verify_in_dev_mode(cli, make_settings, capsys) -> None:
    settings = make_settings()
    args = cli.parse_args(["token", "issue", "--sub", "ann", "--role", "operator", "--ttl", "2h"])
    assert run_token_command(args, settings, env={}) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.count(".") == 2 and "ann (OPERATOR)" in err and "expires" in err
    assert run_token_command(cli.parse_args(["token", "verify"]), settings, env={"WELLQUEUE_TOKEN": token}) == 0
    out, err = capsys.readouterr()
    assert out.startswith("valid: ann (OPERATOR), expires") and err == ""


def test_cli_token_arguments_warn_about_ps_and_history(cli, make_settings, capsys) -> None:
    settings = make_settings()
    token = issue_token(load_signing_key(settings, env={}), sub="ann", role=Role.ADMIN)
    assert run_token_command(cli.parse_args(["token", "verify", token]), settings, env={}) == 0
    assert CLI_TOKEN_WARNING in capsys.readouterr().err


def test_cli_verify_reports_refusal_without_the_token(cli, hs_settings, capsys) -> None:
    forged = jwt.encode(claims(), OTHER_SECRET, algorithm="HS256")
    assert run_token_command(cli.parse_args(["token", "verify"]), hs_settings, env={"WELLQUEUE_TOKEN": forged}) == 1
    out, err = capsys.readouterr()
    assert "error: signature does not match" in err and forged not in out + err


def test_cli_issue_with_operator_token_and_inherited_secret_is_denied_and_audited(
    cli, hs_settings, hs_key, fake_redis, capsys
) -> None:
    operator = issue_token(hs_key, sub="olga", role=Role.OPERATOR)
    args = cli.parse_args(["token", "issue", "--sub", "olga", "--role", "ADMIN"])
    audit = AuditLog(fake_redis, KEYS.audit)
    assert run_token_command(args, hs_settings, env={"WELLQUEUE_TOKEN": operator}, audit=audit) == 1
    out, err = capsys.readouterr()
    assert out == "" and "issue_token needs ADMIN; you are OPERATOR" in err
    [entry] = audit.recent()
    assert (entry.who, entry.role, entry.action, entry.outcome) == ("olga", "OPERATOR", "issue_token", "denied")


def test_cli_issue_with_admin_token_is_allowed_and_audited(cli, hs_settings, hs_key, fake_redis, capsys) -> None:
    admin = issue_token(hs_key, sub="root-ann", role=Role.ADMIN)
    args = cli.parse_args(["token", "issue", "--sub", "olga", "--role", "OPERATOR", "--org", "acme"])
    audit = AuditLog(fake_redis, KEYS.audit)
    assert run_token_command(args, hs_settings, env={"WELLQUEUE_TOKEN": admin}, audit=audit) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(hs_key, token) == Identity(sub="olga", role=Role.OPERATOR, org="acme")
    [entry] = audit.recent()
    assert (entry.who, entry.outcome, entry.target) == ("root-ann", "ok", "olga (OPERATOR@acme)")
    assert admin not in json.dumps(entry.__dict__) and token not in json.dumps(entry.__dict__)


def test_cli_org_admin_cannot_issue_outside_its_org(cli, hs_settings, hs_key, capsys) -> None:
    org_admin = issue_token(hs_key, sub="ada", role=Role.ADMIN, org="acme")
    env = {"WELLQUEUE_TOKEN": org_admin}
    unscoped = cli.parse_args(["token", "issue", "--sub", "x", "--role", "ADMIN"])
    assert run_token_command(unscoped, hs_settings, env=env) == 1
    assert "limited to org 'acme'" in capsys.readouterr().err
    args = cli.parse_args(["token", "issue", "--sub", "x", "--role", "OPERATOR", "--org", "acme"])
    assert run_token_command(args, hs_settings, env=env) == 0


def test_cli_issue_without_token_by_the_key_holder_is_allowed(cli, hs_settings, hs_key, capsys) -> None:
    args = cli.parse_args(["token", "issue", "--sub", "first-admin", "--role", "ADMIN"])
    assert run_token_command(args, hs_settings, env={}) == 0
    assert verify_token(hs_key, capsys.readouterr().out.strip()).role is Role.ADMIN


def test_cli_readable_secret_file_overrides_a_non_admin_token(cli, make_settings, fake_redis, capsys) -> None:
    settings = make_settings(redis_url="redis://redis.example:6379/0")  # not dev mode, secret from the file
    key = load_signing_key(settings, env={})
    manager = issue_token(key, sub="mo", role=Role.MANAGER, org="acme")
    args = cli.parse_args(["token", "issue", "--sub", "new", "--role", "OPERATOR"])
    audit = AuditLog(fake_redis, KEYS.audit)
    assert run_token_command(args, settings, env={"WELLQUEUE_TOKEN": manager}, audit=audit) == 0
    assert verify_token(key, capsys.readouterr().out.strip()) == Identity(sub="new", role=Role.OPERATOR)
    [entry] = audit.recent()
    assert entry.who.startswith("key holder (") and entry.role == "ADMIN" and entry.outcome == "ok"


def test_cli_issue_prints_no_token_when_the_audit_write_fails(
    cli, hs_settings, fake_redis, monkeypatch, capsys
) -> None:
    def unavailable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(fake_redis, "xadd", unavailable)
    args = cli.parse_args(["token", "issue", "--sub", "x", "--role", "ADMIN"])
    assert run_token_command(args, hs_settings, env={}, audit=AuditLog(fake_redis, KEYS.audit)) == 1
    out, err = capsys.readouterr()
    assert out == "" and "cannot write the audit entry, so no token was issued" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "issue", "--sub", "x", "--role", "ROOT"], "unknown role 'ROOT' (use ADMIN, OPERATOR or MANAGER)"),
        (["token", "issue", "--sub", "x", "--role", "ADMIN", "--ttl", "8 hours"], "bad duration"),
        (["audit", "--limit", "0"], "--limit must be a whole number from 1 to 1000"),
    ],
)
def test_cli_bad_arguments_are_usage_errors(cli, argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.parse_args(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_cli_global_token_option_is_not_overwritten(make_settings) -> None:
    parser = argparse.ArgumentParser(prog="wellqueue")
    parser.add_argument("--token")
    add_token_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["--token", "abc", "token", "verify"]).token == "abc"


def test_cli_audit_lines_and_json(cli, fake_redis, capsys) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(Identity("olga", Role.OPERATOR, "acme"), "retry", "job:1", 1, "ok")
    log.record(Identity("mal\x1b]52;c;x\x07", Role.MANAGER), "drain", "emails\u202e", 0, "denied", "drain needs ADMIN")
    assert run_audit_command(cli.parse_args(["audit"]), AuditLog(fake_redis, KEYS.audit)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "\x1b" not in lines[0] and "\u202e" not in lines[0]
    assert "mal\\x1b]52;c;x\\x07 (MANAGER)" in lines[0] and "emails\\u202e" in lines[0]
    assert "olga (OPERATOR@acme)  retry  job:1  count=1" in lines[1]
    assert run_audit_command(cli.parse_args(["audit", "--json", "--limit", "1"]), AuditLog(fake_redis, KEYS.audit)) == 0
    out, err = capsys.readouterr()
    [entry] = json.loads(out)
    assert entry["action"] == "drain" and entry["outcome"] == "denied"
    assert "--before" in err  # the next page is announced
