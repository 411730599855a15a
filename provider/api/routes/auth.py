"""Nonces and auth tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from provider.api.deps import ServicesDep
from provider.api.schemas import ADDRESS_PATTERN, AuthTokenRequest, InvalidateTokenRequest
from provider.auth.signature import Command

__all__ = ["router"]

router = APIRouter(prefix="/api/services")


@router.get("/nonce")
def nonce(
    services: ServicesDep,
    user_address: Annotated[str, Query(alias="userAddress", pattern=ADDRESS_PATTERN)],
) -> dict[str, str]:
    return {"nonce": str(services.nonces.current(user_address))}


@router.post("/auth/token")
def create_token(body: AuthTokenRequest, services: ServicesDep) -> dict[str, str]:
    address = services.authenticator.authenticate(
        consumer_address=body.address,
        command=Command.CREATE_AUTH_TOKEN,
        nonce=body.nonce,
        signature=body.signature,
        token=None,
    )
    return {"token": services.tokens.issue(address, valid_until=body.valid_until)}


@router.post("/auth/token/invalidate")
def invalidate_token(body: InvalidateTokenRequest, services: ServicesDep) -> dict[str, bool]:
    services.authenticator.authenticate(
        consumer_address=body.address,
        # ocean.js signs address + nonce with no command here; Ocean Node accepts that too.
        command=(Command.INVALIDATE_AUTH_TOKEN, ""),
        nonce=body.nonce,
        signature=body.signature,
        token=None,
    )
    services.tokens.invalidate(body.token, owner=body.address)
    return {"success": True}
