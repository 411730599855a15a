"""Wire models (provider/api/schemas.py) → the job use cases' requests (provider/jobs/requests.py).

The only place that knows both: the routes call it, the domain never sees a wire model.
"""

from __future__ import annotations

from provider.api.schemas import AlgorithmIn, ComputeAssetIn, StartComputeRequest
from provider.jobs.requests import (
    AlgorithmRequest,
    DatasetRequest,
    RawAlgorithm,
    ResourceAmount,
    ResultAssetRequest,
    StartRequest,
)
from workflows.spec import Container

__all__ = ["start_request"]


def start_request(body: StartComputeRequest) -> StartRequest:
    return StartRequest(
        consumer_address=body.consumer_address,
        environment=body.environment,
        algorithm=_algorithm(body.algorithm),
        datasets=tuple(_dataset(dataset) for dataset in body.datasets),
        resources=tuple(ResourceAmount(id=r.id, amount=r.amount) for r in body.resources),
        max_job_duration=body.max_job_duration,
        queue_max_wait_time=body.queue_max_wait_time,
        additional_viewers=tuple(body.additional_viewers),
        metadata=body.metadata,
        payment=body.payment,
        chain_id=body.chain_id,
        output=body.output,
        registry_auth=body.encrypted_docker_registry_auth,
        publish_results=_publish_results(body),
    )


def _publish_results(body: StartComputeRequest) -> ResultAssetRequest | None:
    given = body.publish_results
    if given is None:
        return None
    return ResultAssetRequest(
        name=given.name,
        description=given.description,
        author=given.author,
        license=given.license,
        tags=tuple(given.tags),
        services=tuple(given.services),
        compute=None if given.compute is None else given.compute.model_dump(by_alias=True),
    )


def _algorithm(algo: AlgorithmIn) -> AlgorithmRequest:
    meta = algo.meta
    raw = None
    if meta is not None:
        raw = RawAlgorithm(
            container=Container(
                **meta.container.model_dump(include={"entrypoint", "image", "tag", "checksum"})
            ),
            rawcode=meta.rawcode,
            url=meta.url,
            dockerfile=meta.container.dockerfile,
        )
    return AlgorithmRequest(
        document_id=algo.document_id,
        service_id=algo.service_id,
        transfer_tx_id=algo.transfer_tx_id,
        raw=raw,
        custom_data=algo.algocustomdata,
        envs=algo.envs or {},
    )


def _dataset(dataset: ComputeAssetIn) -> DatasetRequest:
    return DatasetRequest(
        document_id=dataset.document_id,
        service_id=dataset.service_id,
        transfer_tx_id=dataset.transfer_tx_id,
        file_object=dataset.file_object,
        userdata=dataset.userdata,
    )
