"""Start, status and stop of compute jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from provider.api.blocking import in_thread
from provider.api.deps import AuthToken, ServicesDep
from provider.api.schemas import ADDRESS_PATTERN, StartComputeRequest
from provider.api.translate import start_request
from provider.jobs.requests import Credentials

__all__ = ["MAX_AGREEMENT_ID", "MAX_JOB_ID", "STATUS_ROUTE", "router"]

router = APIRouter(prefix="/api/services")

Address = Annotated[str, Query(alias="consumerAddress", pattern=ADDRESS_PATTERN)]
MAX_JOB_ID = 64
MAX_AGREEMENT_ID = 128


@router.post("/freeCompute")
def free_compute(
    body: StartComputeRequest, services: ServicesDep, token: AuthToken
) -> list[dict[str, Any]]:
    credentials = Credentials(nonce=body.nonce, signature=body.signature, token=token)
    return services.jobs.start_free(start_request(body), credentials)


@router.post("/compute")
def paid_compute(
    body: StartComputeRequest, services: ServicesDep, token: AuthToken
) -> list[dict[str, Any]]:
    credentials = Credentials(nonce=body.nonce, signature=body.signature, token=token)
    return services.jobs.start_paid(start_request(body), credentials)


# Async, and answered as a ready JSON response: clients poll this route, and FastAPI's thread
# hand-off and response validation cost more than the lookup itself.
@router.get("/compute", response_model=list[dict[str, Any]])
async def compute_status(
    services: ServicesDep,
    token: AuthToken,
    consumer_address: Address,
    job_id: Annotated[str | None, Query(alias="jobId", max_length=MAX_JOB_ID)] = None,
    agreement_id: Annotated[
        str | None, Query(alias="agreementId", max_length=MAX_AGREEMENT_ID)
    ] = None,
) -> JSONResponse:
    jobs = services.jobs
    answer = None
    if token is None and job_id:
        answer = await jobs.public_status(consumer_address, job_id, agreement_id)
    if answer is None:
        answer = await in_thread(jobs.status, consumer_address, job_id, agreement_id, token)
    return JSONResponse(answer)


# Its path, and its metrics label, for the polls ``status_poll`` answers before routing.
STATUS_ROUTE = next(
    r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is compute_status
)


@router.put("/compute")
def compute_stop(
    services: ServicesDep,
    token: AuthToken,
    consumer_address: Address,
    job_id: Annotated[str, Query(alias="jobId", max_length=MAX_JOB_ID)],
    nonce: Annotated[str | None, Query(max_length=40)] = None,
    signature: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    credentials = Credentials(nonce=nonce, signature=signature, token=token)
    return services.jobs.stop(consumer_address, job_id, credentials)
