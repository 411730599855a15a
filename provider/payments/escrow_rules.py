"""Whether a payer's escrow funds and authorisation cover a lock: plain facts in, a 400 out."""

from __future__ import annotations

from dataclasses import dataclass

from provider.errors import BadRequest
from provider.payments.pricing import from_wei

__all__ = ["EscrowFacts", "LockRequest", "check_escrow"]


@dataclass(frozen=True)
class EscrowFacts:
    """What the Escrow contract holds for one payer, token and payee (amounts in wei)."""

    available: int
    authorized: bool
    max_locked: int = 0
    current_locked: int = 0
    max_lock_seconds: int = 0
    max_lock_counts: int = 0
    current_locks: int = 0


@dataclass(frozen=True)
class LockRequest:
    payer: str
    payee: str
    token: str
    escrow: str
    amount: int
    seconds: int


def check_escrow(facts: EscrowFacts, want: LockRequest) -> None:
    """Return when the lock can be created; BadRequest saying what is missing and how much."""
    need = from_wei(want.amount)
    where = f"escrow {want.escrow}, token {want.token}"
    if facts.available < want.amount:
        missing = from_wei(want.amount - facts.available)
        raise BadRequest(
            f"insufficient escrow funds: {want.payer} has {from_wei(facts.available)} available"
            f" in {where}; the job needs {need}: deposit {missing} more"
        )
    if not facts.authorized:
        raise BadRequest(
            f"escrow authorisation missing: {want.payer} has not authorized payee {want.payee}"
            f" in {where}; authorize maxLockedAmount >= {need}, maxLockSeconds >="
            f" {want.seconds}, maxLockCounts >= 1"
        )
    room = facts.max_locked - facts.current_locked
    if room < want.amount:
        raise BadRequest(
            f"escrow authorisation too small: payee {want.payee} may lock {from_wei(room)} more"
            f" of {want.payer}'s funds in {where}; the job needs {need}: raise maxLockedAmount"
            f" by {from_wei(want.amount - room)}"
        )
    if facts.max_lock_seconds < want.seconds:
        raise BadRequest(
            f"escrow authorisation too short: maxLockSeconds is {facts.max_lock_seconds}, the job"
            f" needs {want.seconds} ({where})"
        )
    if facts.current_locks >= facts.max_lock_counts:
        raise BadRequest(
            f"escrow authorisation used up: {facts.current_locks} of maxLockCounts"
            f" {facts.max_lock_counts} locks are open ({where}); raise maxLockCounts"
        )
