"""The PaymentGate protocol: price and verify what a paid start paid, then settle its job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from provider.environments import EnvironmentConfig
from provider.errors import BadRequest
from provider.jobs.requests import StartRequest
from workflows.engines.base import JobState
from workflows.spec import JobSpec

__all__ = ["NoPayments", "PaymentGate", "PaymentGrant"]


@dataclass(frozen=True)
class PaymentGrant:
    """What was verified for one paid start: the agreement it is recorded under."""

    agreement_id: str
    chain_id: int


class PaymentGate(Protocol):
    # Whether ``view`` and ``describe`` read a database: a status is then rendered in a worker
    # thread, never on the event loop.
    reads_store: bool

    def initialize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> dict[str, Any]:
        """initializeCompute's answer for an admitted job: per-input orders and the price."""
        ...

    def authorize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> PaymentGrant:
        """Check the orders and lock the price, or raise a C2DError saying what is missing."""
        ...

    def abandon(self, job_id: str) -> None:
        """The job was authorized but never submitted: release what was locked for it."""
        ...

    def settle(self, job: JobState) -> None:
        """Claim what the finished job used and release the rest."""
        ...

    def view(self, job: JobState) -> JobState:
        """The job as clients see it: a finished paid job is settling (71) until settled."""
        ...

    def describe(self, job_id: str) -> dict[str, Any] | None:
        """The job's ``payment`` block for its owner (Ocean Node's shape), None if free."""
        ...


class NoPayments:
    """A provider that serves no chain: every paid start is refused with the reason."""

    reads_store = False

    def initialize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> dict[str, Any]:
        raise self._refusal(environment)

    def authorize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> PaymentGrant:
        raise self._refusal(environment)

    def abandon(self, job_id: str) -> None:
        return None

    def settle(self, job: JobState) -> None:
        return None

    def view(self, job: JobState) -> JobState:
        return job

    def describe(self, job_id: str) -> dict[str, Any] | None:
        return None

    @staticmethod
    def _refusal(environment: EnvironmentConfig) -> BadRequest:
        return BadRequest(
            f"environment {environment.id} is paid, and this provider is not connected to a"
            " chain to verify orders and escrow; use a free environment"
        )
