"""initializeCompute (prices and provider fees before ordering) and encrypt (for publishers)."""

from __future__ import annotations

from typing import Annotated, Any

from eth_keys.datatypes import PrivateKey
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from provider.api.deps import AuthToken, ServicesDep
from provider.api.schemas import ADDRESS_PATTERN, InitializeComputeRequest
from provider.api.translate import start_request
from provider.assets.encryption import encrypt
from provider.auth.signature import Command
from provider.errors import BadRequest

__all__ = ["router"]

router = APIRouter(prefix="/api/services")


@router.post("/initializeCompute")
def initialize_compute(body: InitializeComputeRequest, services: ServicesDep) -> dict[str, Any]:
    try:
        request = body.as_start()
    except ValidationError as error:
        raise BadRequest(f"payment.resources: {error.errors()[0]['msg']}") from None
    return services.jobs.initialize(start_request(request))


@router.post("/encrypt", response_class=PlainTextResponse)
async def encrypt_data(
    request: Request,
    services: ServicesDep,
    token: AuthToken,
    consumer_address: Annotated[str, Query(alias="consumerAddress", pattern=ADDRESS_PATTERN)],
    nonce: Annotated[str | None, Query(max_length=40)] = None,
    signature: Annotated[str | None, Query(max_length=200)] = None,
) -> str:
    """Encrypt the body for this provider only; answers ``0x`` + hex, as Ocean Node does."""
    services.authenticator.authenticate(
        consumer_address=consumer_address,
        command=Command.ENCRYPT,
        nonce=nonce,
        signature=signature,
        token=token,
    )
    body = await request.body()
    if not body:
        raise BadRequest("encrypt: the body is empty")
    public_key = PrivateKey(bytes(services.account.key)).public_key.to_bytes()
    return "0x" + encrypt(public_key, body).hex()
