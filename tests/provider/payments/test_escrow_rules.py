"""Escrow preflight: each shortfall is a 400 that says what is missing and how much."""

from __future__ import annotations

import pytest

from provider.errors import BadRequest
from provider.payments.escrow_rules import EscrowFacts, LockRequest, check_escrow

UNIT = 10**18
WANT = LockRequest(
    payer="0xPayer",
    payee="0xPayee",
    token="0xToken",
    escrow="0xEscrow",
    amount=3 * UNIT,
    seconds=900,
)
GOOD = EscrowFacts(
    available=5 * UNIT,
    authorized=True,
    max_locked=10 * UNIT,
    current_locked=0,
    max_lock_seconds=3600,
    max_lock_counts=5,
    current_locks=0,
)


def refused(facts: EscrowFacts) -> str:
    with pytest.raises(BadRequest) as caught:
        check_escrow(facts, WANT)
    return caught.value.message


def test_enough_funds_and_authorisation_pass() -> None:
    check_escrow(GOOD, WANT)


def test_insufficient_funds_say_how_much_is_missing() -> None:
    message = refused(EscrowFacts(available=1 * UNIT, authorized=True))
    assert "insufficient escrow funds" in message
    assert "has 1 available" in message and "needs 3" in message and "deposit 2 more" in message


def test_missing_authorisation_says_what_to_authorize() -> None:
    message = refused(EscrowFacts(available=5 * UNIT, authorized=False))
    assert "not authorized payee 0xPayee" in message
    assert "maxLockedAmount >= 3" in message and "maxLockSeconds >= 900" in message


def test_authorised_amount_too_small() -> None:
    message = refused(EscrowFacts(**{**GOOD.__dict__, "current_locked": 8 * UNIT}))
    assert "may lock 2 more" in message and "raise maxLockedAmount by 1" in message


def test_authorised_seconds_too_short() -> None:
    message = refused(EscrowFacts(**{**GOOD.__dict__, "max_lock_seconds": 600}))
    assert "maxLockSeconds is 600, the job needs 900" in message


def test_authorised_lock_count_used_up() -> None:
    message = refused(EscrowFacts(**{**GOOD.__dict__, "current_locks": 5}))
    assert "5 of maxLockCounts 5" in message
