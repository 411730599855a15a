"""ChainPayments: initializeCompute and paid starts on one chain (orders + Escrow lock)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount

from provider.chain.client import ChainClient, ChainError, ChainUnavailable
from provider.chain.escrow import EscrowClient, escrow_job_id
from provider.chain.fees import FeeData, sign_provider_fee
from provider.chain.order_reader import read_order
from provider.chain.orders import (
    OrderExpectation,
    OrderFacts,
    check_order,
    check_order_itself,
)
from provider.environments import EnvironmentConfig, FeeConfig
from provider.errors import BadRequest, C2DError, ServiceUnavailable
from provider.jobs.requests import StartRequest
from provider.jobs.resources import resource_amounts
from provider.payments.base import PaymentGrant
from provider.payments.escrow_rules import LockRequest, check_escrow
from provider.payments.inputs import PaidInput, paid_inputs
from provider.payments.pricing import from_wei, lock_amount, per_minute_wei
from provider.payments.store import Settlement, SettlementState, SettlementStore
from workflows.spec import JobSpec

__all__ = ["ChainPayments"]

_log = logging.getLogger("c2d.payments")


@dataclass(frozen=True)
class _Terms:
    chain_id: int
    fee: FeeConfig
    per_minute: int
    amount: int
    seconds: int


class ChainPayments:
    """Verifies datatoken orders and locks the compute price in Escrow (settled by Settler).

    ``lock_grace`` seconds beyond maxJobDuration keep a lock open through queueing, data
    download and publishing; ``fee_validity`` is how long a provider fee may wait to be used.
    """

    def __init__(
        self,
        *,
        client: ChainClient,
        escrow: EscrowClient,
        account: LocalAccount,
        store: SettlementStore,
        clock: Callable[[], float],
        lock_grace: int = 900,
        fee_validity: int = 3600,
        confirmations: int = 1,
    ) -> None:
        self._escrow = escrow
        self._store = store
        self._clock = clock
        self._client = client
        self._account = account
        self.chain_id = client.chain_id
        self._lock_grace = lock_grace
        self._fee_validity = fee_validity
        self._confirmations = confirmations

    # --- initializeCompute ------------------------------------------------------------------
    def initialize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> dict[str, Any]:
        terms = self._terms(request, environment, spec)
        entries = {
            i.label: self._order_entry(i, request, environment, terms)
            for i in paid_inputs(request, spec)
        }
        return {
            "algorithm": entries.get("algorithm", {}),
            "datasets": [entries.get(f"datasets[{n}]", {}) for n in range(len(request.datasets))],
            "payment": {
                "escrowAddress": self._escrow.address,
                "payee": self._account.address,
                "chainId": terms.chain_id,
                "minLockSeconds": terms.seconds,
                "token": terms.fee.fee_token,
                # Wei as a decimal string, as Ocean Node answers and ocean.js converts it.
                "amount": str(terms.amount),
            },
        }

    def _order_entry(
        self, item: PaidInput, request: StartRequest, env: EnvironmentConfig, terms: _Terms
    ) -> dict[str, Any]:
        self._same_chain(item, terms)
        entry: dict[str, Any] = {
            "datatoken": item.datatoken,
            "chainId": terms.chain_id,
            "consumerAddress": self._account.address,
            # Not in Ocean Node's answer: the service's position, which startOrder takes (a
            # client without the DDO at hand, c2d submit, orders with it).
            "serviceIndex": item.service_index,
            "validOrder": False,
        }
        now = int(self._clock())
        renew = True
        if item.transfer_tx:
            want = self._expectation(item, request.consumer_address, env.id, now)
            try:
                facts = read_order(self._client, item.transfer_tx, item.datatoken, label=item.label)
                check_order_itself(facts, want)
                entry["validOrder"] = item.transfer_tx
                check_order(facts, want)
                renew = False
            except ServiceUnavailable:
                raise  # the chain did not answer: say so rather than ask for a new order
            except C2DError:
                pass  # not usable as is: a new order, or a reuse with the fee below
        if renew:
            data = FeeData(env.id, item.datatoken, item.service_id, now)
            fee = sign_provider_fee(
                self._account,
                data,
                token=terms.fee.fee_token,
                amount=0,
                valid_until=now + terms.seconds + self._fee_validity,
            )
            entry["providerFee"] = fee.to_wire()
        return entry

    # --- computeStart -----------------------------------------------------------------------
    def authorize(
        self, request: StartRequest, environment: EnvironmentConfig, spec: JobSpec
    ) -> PaymentGrant:
        terms = self._terms(request, environment, spec)
        now = int(self._clock())
        transfers: list[str] = []
        for item in paid_inputs(request, spec):
            self._same_chain(item, terms)
            if not item.transfer_tx:
                raise BadRequest(
                    f"{item.label}: transferTxId is missing: order datatoken {item.datatoken}"
                    " first (initializeCompute gives the provider fee to order with)"
                )
            facts = self._read(item)
            check_order(
                facts, self._expectation(item, request.consumer_address, environment.id, now)
            )
            transfers.append(item.transfer_tx)
        agreement = transfers[0] if transfers else spec.job_id
        row = Settlement(
            job_id=spec.job_id,
            chain_id=terms.chain_id,
            token=terms.fee.fee_token,
            payer=request.consumer_address,
            escrow_job_id=escrow_job_id(spec.job_id),
            per_minute=terms.per_minute,
            locked=terms.amount,
            state=SettlementState.LOCKED,
        )
        if terms.amount > 0:
            row = self._lock(row, terms)
        self._store.insert(row)
        return PaymentGrant(agreement_id=agreement, chain_id=terms.chain_id)

    def _lock(self, row: Settlement, terms: _Terms) -> Settlement:
        want = LockRequest(
            payer=row.payer,
            payee=self._account.address,
            token=row.token,
            escrow=self._escrow.address,
            amount=row.locked,
            seconds=terms.seconds,
        )
        try:
            check_escrow(self._escrow.facts(row.payer, row.token), want)
            self._escrow_deep_enough(row, want)
            tx = self._escrow.lock(
                row.escrow_job_id, row.token, row.payer, row.locked, terms.seconds
            )
        except ChainUnavailable as error:
            raise ServiceUnavailable(f"escrow lock not possible now: {error}") from None
        except ChainError as error:
            raise BadRequest(
                f"escrow: cannot lock {from_wei(row.locked)} of {row.payer}: {error}"
            ) from None
        _log.info("job %s: locked %s in escrow (%s)", row.job_id, row.locked, tx)
        return dataclasses.replace(row, lock_tx=tx)

    def _escrow_deep_enough(self, row: Settlement, want: LockRequest) -> None:
        """The deposit and authorisation must hold ``confirmations`` blocks back as well:
        funds a reorg could still take away are not locked against."""
        if self._confirmations <= 1:
            return
        latest = int(self._client.w3.eth.block_number)
        block = max(0, latest - self._confirmations + 1)
        try:
            check_escrow(self._escrow.facts(row.payer, row.token, block=block), want)
        except BadRequest as error:
            raise BadRequest(
                f"escrow: the deposit or authorisation of {row.payer} is not yet"
                f" {self._confirmations} blocks deep on chain {self.chain_id} ({error});"
                " start again after a few blocks"
            ) from None

    # --- helpers ----------------------------------------------------------------------------
    def _terms(self, request: StartRequest, env: EnvironmentConfig, spec: JobSpec) -> _Terms:
        chain_id = self.chain_id  # the request's chain: PaymentsByChain picked this gate by it
        token = (request.payment or {}).get("token") or None
        fee = env.fee(chain_id, str(token) if token else None)
        if fee is None:
            in_token = f" in token {token}" if token else ""
            raise BadRequest(f"environment {env.id} is not paid on chain {chain_id}{in_token}")
        amounts = resource_amounts(request.resources, env, free=False)
        prices = {price.id: Decimal(str(price.price)) for price in fee.prices}
        per_minute = per_minute_wei(prices, amounts)
        duration = spec.limits.max_job_duration
        return _Terms(
            chain_id=chain_id,
            fee=fee,
            per_minute=per_minute,
            amount=lock_amount(per_minute, duration),
            seconds=duration + self._lock_grace,
        )

    def _expectation(self, item: PaidInput, caller: str, env_id: str, now: int) -> OrderExpectation:
        return OrderExpectation(
            label=item.label,
            datatoken=item.datatoken,
            service_index=item.service_index,
            service_id=item.service_id,
            service_timeout=item.service_timeout,
            caller=caller,
            provider=self._account.address,
            environment=env_id,
            now=now,
        )

    def _read(self, item: PaidInput) -> OrderFacts:
        assert item.transfer_tx is not None
        return read_order(
            self._client,
            item.transfer_tx,
            item.datatoken,
            label=item.label,
            confirmations=self._confirmations,
        )

    @staticmethod
    def _same_chain(item: PaidInput, terms: _Terms) -> None:
        if item.chain_id != terms.chain_id:
            raise BadRequest(
                f"{item.label}: {item.did} is on chain {item.chain_id}, the payment on chain"
                f" {terms.chain_id}"
            )
