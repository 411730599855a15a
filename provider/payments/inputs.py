"""The inputs of a job that need an order: the algorithm and datasets published as DIDs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provider.assets.ddo import Ddo
from provider.errors import BadRequest
from provider.jobs.requests import StartRequest
from workflows.spec import JobSpec

__all__ = ["PaidInput", "paid_inputs"]


@dataclass(frozen=True)
class PaidInput:
    label: str  # "algorithm" or "datasets[i]", as refusals name it
    did: str
    chain_id: int
    datatoken: str
    service_id: str
    service_index: int
    service_timeout: int
    transfer_tx: str | None


def paid_inputs(request: StartRequest, spec: JobSpec) -> list[PaidInput]:
    """The DID inputs of an admitted ``spec``, with the order ``request`` names for each."""
    found: list[PaidInput] = []
    if spec.algorithm.did and spec.algorithm.ddo is not None:
        found.append(
            _input(
                "algorithm",
                spec.algorithm.ddo,
                spec.algorithm.service_id,
                request.algorithm.transfer_tx_id,
            )
        )
    for position, (dataset, admitted) in enumerate(zip(request.datasets, spec.inputs, strict=True)):
        if admitted.did and admitted.ddo is not None:
            label = f"datasets[{position}]"
            found.append(_input(label, admitted.ddo, admitted.service_id, dataset.transfer_tx_id))
    return found


def _input(
    label: str, raw_ddo: dict[str, Any], service_id: str | None, tx: str | None
) -> PaidInput:
    ddo = Ddo.model_validate(raw_ddo)
    for index, service in enumerate(ddo.services):
        if service.id == service_id:
            if not service.datatoken_address:
                raise BadRequest(f"{label}: service {service.id} of {ddo.id} has no datatoken")
            return PaidInput(
                label=label,
                did=ddo.id,
                chain_id=ddo.chain_id,
                datatoken=service.datatoken_address,
                service_id=service.id,
                service_index=index,
                service_timeout=service.timeout,
                transfer_tx=tx or None,
            )
    raise BadRequest(f"{label}: {ddo.id} has no service {service_id}")
