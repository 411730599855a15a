"""Ocean Node's access routes: initialize (what to order with) and download (the ordered file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query
from fastapi.responses import StreamingResponse

from provider.access.opening import open_kept
from provider.access.ranges import parse_range
from provider.access.userdata import NO_POLICY_SERVER, parse_userdata
from provider.api.deps import AuthToken, ServicesDep
from provider.assets.kept_inputs import KEPT_INPUT_HEADER
from provider.errors import BadRequest, NotFound

router = APIRouter()

# Sync handlers on purpose: FastAPI runs them in its thread pool, where the chain is read and the
# origin opened without blocking the event loop.


@router.get("/api/services/initialize")
def initialize(
    services: ServicesDep,
    document_id: Annotated[str, Query(alias="documentId", min_length=1, max_length=200)],
    service_id: Annotated[str, Query(alias="serviceId", min_length=1, max_length=200)],
    consumer_address: Annotated[
        str, Query(alias="consumerAddress", pattern=r"^0x[0-9a-fA-F]{40}$")
    ],
    file_index: Annotated[int, Query(alias="fileIndex", ge=0, le=1000)] = 0,
    valid_until: Annotated[int | None, Query(alias="validUntil", ge=0)] = None,
    userdata: Annotated[str | None, Query(max_length=4000)] = None,
    environment: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    refuse_unsupported(environment=environment)
    # Checked here, acted on at download (where it is added to a url file's query).
    parse_userdata(userdata)
    return services.access.initialize(
        document_id, service_id, consumer_address, file_index, valid_until
    )


@router.get("/api/services/download")
def download(
    services: ServicesDep,
    token: AuthToken,
    document_id: Annotated[str, Query(alias="documentId", min_length=1, max_length=200)],
    service_id: Annotated[str, Query(alias="serviceId", min_length=1, max_length=200)],
    consumer_address: Annotated[
        str, Query(alias="consumerAddress", pattern=r"^0x[0-9a-fA-F]{40}$")
    ],
    transfer_tx_id: Annotated[str, Query(alias="transferTxId", min_length=1, max_length=80)],
    file_index: Annotated[int, Query(alias="fileIndex", ge=0, le=1000)] = 0,
    nonce: Annotated[str | None, Query(max_length=40)] = None,
    signature: Annotated[str | None, Query(max_length=200)] = None,
    userdata: Annotated[str | None, Query(max_length=4000)] = None,
    policy_server: Annotated[str | None, Query(alias="policyServer", max_length=4000)] = None,
    byte_range: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    if_range: Annotated[str | None, Header(alias="If-Range", max_length=200)] = None,
) -> StreamingResponse:
    if policy_server is not None:
        raise BadRequest(NO_POLICY_SERVER)
    opened = services.access.download(
        did=document_id,
        service_id=service_id,
        consumer=consumer_address,
        file_index=file_index,
        transfer_tx=transfer_tx_id,
        nonce=nonce,
        signature=signature,
        token=token,
        userdata=parse_userdata(userdata),
        # If-Range's validator is not compared: the whole file is always a right answer to it.
        byte_range=None if if_range is not None else parse_range(byte_range),
    )
    return StreamingResponse(
        opened.opened.chunks,
        status_code=opened.opened.status,
        media_type=opened.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{opened.filename}"',
            **opened.opened.headers,
        },
    )


def refuse_unsupported(**fields: str | None) -> None:
    """A request field this provider does not act on is refused, never silently dropped."""
    given = [name for name, value in fields.items() if value is not None]
    if given:
        raise BadRequest(f"{', '.join(given)}: not supported by this provider's access routes")


@router.post("/api/services/fileInfo")
def file_info(
    services: ServicesDep, body: Annotated[dict[str, Any], Body()]
) -> list[dict[str, Any]]:
    return services.file_info.describe(body)


@router.get("/api/services/keptInput/{job_id}")
def kept_input(
    services: ServicesDep,
    job_id: Annotated[str, Path(max_length=64)],
    header: Annotated[str | None, Header(alias=KEPT_INPUT_HEADER, max_length=200)] = None,
) -> StreamingResponse:
    """A published result's outputs.tar, for the configure step of a job reading that asset
    (provider/assets/kept_inputs.py); not an Ocean route."""
    if services.kept_inputs is None:
        raise NotFound("this provider keeps no published results")
    opened = open_kept(services.kept_inputs.open(job_id, header), None)
    return StreamingResponse(
        opened.chunks,
        status_code=opened.status,
        media_type="application/x-tar",
        headers=opened.headers,
    )
