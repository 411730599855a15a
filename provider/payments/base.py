"""The PaymentGate protocol: verify what a paid start paid, then settle when its job ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provider.api.schemas import StartComputeRequest
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest
from workflows.engines.base import JobState

__all__ = ["NoPayments", "PaymentGate", "PaymentGrant"]


@dataclass(frozen=True)
class PaymentGrant:
    """What was verified for one paid start: the agreement it is recorded under."""

    agreement_id: str
    chain_id: int


class PaymentGate(Protocol):
    def authorize(
        self, request: StartComputeRequest, environment: EnvironmentConfig
    ) -> PaymentGrant:
        """Check the orders and lock the price, or raise a C2DError saying what is missing."""
        ...

    def settle(self, job: JobState) -> None:
        """Claim what the finished job used and release the rest."""
        ...


class NoPayments:
    """A provider that serves no chain: every paid start is refused with the reason."""

    def authorize(
        self, request: StartComputeRequest, environment: EnvironmentConfig
    ) -> PaymentGrant:
        raise BadRequest(
            f"environment {environment.id} is paid, and this provider is not connected to a"
            " chain to verify orders and escrow; use a free environment"
        )

    def settle(self, job: JobState) -> None:
        return None
