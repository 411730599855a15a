"""Auth tokens: round trip, life until invalidated or capped, validUntil, revocation."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from provider.auth.tokens import TokenService
from provider.errors import BadRequest, Forbidden, Unauthorized
from tests.provider.auth.support import LIFETIME, SECRET, START, Clock

ADDRESS = "0x" + "Ab" * 20


def _expiry(token: str) -> int:
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    expiry: int = claims["exp"]
    return expiry


def test_round_trip(tokens: TokenService) -> None:
    assert tokens.verify(tokens.issue(ADDRESS)) == ADDRESS


def test_each_token_is_distinct(tokens: TokenService) -> None:
    assert tokens.issue(ADDRESS) != tokens.issue(ADDRESS)


def test_expires_after_the_lifetime(tokens: TokenService, clock: Clock) -> None:
    token = tokens.issue(ADDRESS)
    clock.now = START + LIFETIME - 1
    assert tokens.verify(token) == ADDRESS
    clock.now = START + LIFETIME
    with pytest.raises(Unauthorized) as caught:
        tokens.verify(token)
    assert "expired" in caught.value.message


def test_valid_until_shortens_but_never_extends(tokens: TokenService) -> None:
    assert _expiry(tokens.issue(ADDRESS, valid_until=int(START) + 60)) == int(START) + 60
    assert _expiry(tokens.issue(ADDRESS, valid_until=int(START) + 10**6)) == START + LIFETIME


def test_valid_until_in_milliseconds(tokens: TokenService) -> None:
    token = tokens.issue(ADDRESS, valid_until=(int(START) + 120) * 1000)
    assert _expiry(token) == int(START) + 120


def test_valid_until_in_the_past_is_bad_request(tokens: TokenService) -> None:
    with pytest.raises(BadRequest):
        tokens.issue(ADDRESS, valid_until=int(START) - 1)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_garbage_is_unauthorized(tokens: TokenService, token: str) -> None:
    with pytest.raises(Unauthorized):
        tokens.verify(token)


def test_token_signed_with_another_secret_is_unauthorized(
    tokens: TokenService, db_path: Path, clock: Clock
) -> None:
    forger = TokenService(b"f" * 32, db_path, lifetime=LIFETIME, clock=clock)
    with pytest.raises(Unauthorized):
        tokens.verify(forger.issue(ADDRESS))


def test_unsigned_token_is_unauthorized(tokens: TokenService) -> None:
    claims = {"address": ADDRESS, "exp": int(START) + 60, "jti": "x"}
    with pytest.raises(Unauthorized):
        tokens.verify(jwt.encode(claims, None, algorithm="none"))


def test_invalidated_token_is_refused_also_after_restart(
    tokens: TokenService, db_path: Path, clock: Clock
) -> None:
    token, other = tokens.issue(ADDRESS), tokens.issue(ADDRESS)
    tokens.invalidate(token, owner=ADDRESS.lower())
    with pytest.raises(Unauthorized) as caught:
        tokens.verify(token)
    assert "invalidated" in caught.value.message
    restarted = TokenService(SECRET, db_path, lifetime=LIFETIME, clock=clock)
    with pytest.raises(Unauthorized):
        restarted.verify(token)
    assert restarted.verify(other) == ADDRESS


def test_invalidating_twice_is_harmless(tokens: TokenService) -> None:
    token = tokens.issue(ADDRESS)
    tokens.invalidate(token, owner=ADDRESS)
    tokens.invalidate(token, owner=ADDRESS)
    with pytest.raises(Unauthorized):
        tokens.verify(token)


def test_only_the_owner_may_invalidate(tokens: TokenService) -> None:
    token = tokens.issue(ADDRESS)
    with pytest.raises(Forbidden):
        tokens.invalidate(token, owner="0x" + "cd" * 20)
    assert tokens.verify(token) == ADDRESS


def test_short_secret_is_refused(db_path: Path, clock: Clock) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService(b"short", db_path, lifetime=LIFETIME, clock=clock)


@pytest.fixture
def uncapped(db_path: Path, clock: Clock) -> TokenService:
    """Tokens as c2d issues them by default: no lifetime cap, as on Ocean Node."""
    return TokenService(SECRET, db_path, lifetime=None, clock=clock)


def test_without_a_cap_a_token_lives_until_invalidated(
    uncapped: TokenService, db_path: Path, clock: Clock
) -> None:
    token = uncapped.issue(ADDRESS)
    assert "exp" not in jwt.decode(token, SECRET, algorithms=["HS256"])
    clock.now = START + 10 * 365 * 86400
    assert uncapped.verify(token) == ADDRESS
    uncapped.invalidate(token, owner=ADDRESS)
    restarted = TokenService(SECRET, db_path, lifetime=None, clock=clock)
    with pytest.raises(Unauthorized) as caught:
        restarted.verify(token)
    assert "invalidated" in caught.value.message


def test_without_a_cap_valid_until_is_kept(uncapped: TokenService, clock: Clock) -> None:
    token = uncapped.issue(ADDRESS, valid_until=int(START) + 10**6)
    assert _expiry(token) == int(START) + 10**6
    clock.now = START + 10**6
    with pytest.raises(Unauthorized):
        uncapped.verify(token)


def test_a_capped_token_still_verifies_once_the_cap_is_lifted(
    tokens: TokenService, db_path: Path, clock: Clock
) -> None:
    token = tokens.issue(ADDRESS)
    lifted = TokenService(SECRET, db_path, lifetime=None, clock=clock)
    assert lifted.verify(token) == ADDRESS
    clock.now = START + LIFETIME
    with pytest.raises(Unauthorized):
        lifted.verify(token)
