"""PaymentsByChain: the PaymentGate of a provider serving one or more chains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider.chain.client import ChainClient, ChainUnavailable
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest, ServiceUnavailable
from provider.jobs.requests import StartRequest
from provider.payments.base import PaymentGrant
from provider.payments.chain_gate import ChainPayments
from provider.payments.settlement import Settler
from workflows.engines.base import JobState
from workflows.spec import JobSpec

__all__ = ["PaymentsByChain"]


class PaymentsByChain:
    """Sends initializeCompute and paid starts to the gate of ``payment.chainId`` (the start's
    ``chainId``, else the only chain served); one Settler settles the jobs of every chain."""

    reads_store = True  # the settlement rows

    def __init__(
        self,
        gates: Mapping[int, ChainPayments],
        clients: Mapping[int, ChainClient],
        settler: Settler,
    ) -> None:
        self._gates = gates
        self._clients = clients
        self.settler = settler

    def initialize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> dict[str, Any]:
        return self._gate(request).initialize(request, environment, spec)

    def authorize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> PaymentGrant:
        return self._gate(request).authorize(request, environment, spec)

    def abandon(self, job_id: str) -> None:
        self.settler.abandon(job_id)

    def settle(self, job: JobState) -> None:
        self.settler.settle(job)

    def view(self, job: JobState) -> JobState:
        return self.settler.settling_view(job)

    def describe(self, job_id: str) -> dict[str, Any] | None:
        return self.settler.describe(job_id)

    def _gate(self, request: StartRequest) -> ChainPayments:
        payment = request.payment or {}
        chain_id = _int(payment.get("chainId")) or request.chain_id
        if chain_id is None:
            if len(self._gates) != 1:
                raise BadRequest(
                    f"payment.chainId is missing: this provider serves {self._served()}"
                )
            chain_id = next(iter(self._gates))
        gate = self._gates.get(chain_id)
        if gate is None:
            raise BadRequest(
                f"payment.chainId {chain_id} is not served here; this provider serves"
                f" {self._served()}"
            )
        try:
            # One cheap call first: a chain none of whose RPCs answers is a 503 naming it,
            # not a half-checked order.
            self._clients[chain_id].answering_chain_id()
        except ChainUnavailable as error:
            raise ServiceUnavailable(f"chain {chain_id} cannot be reached now: {error}") from None
        return gate

    def _served(self) -> str:
        chains = ", ".join(str(chain) for chain in sorted(self._gates))
        return f"chain {chains}" if len(self._gates) == 1 else f"chains {chains}"


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        raise BadRequest(f"payment.chainId {str(value)[:40]!r} is not a number") from None
