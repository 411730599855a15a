"""GET /api/aquarius/assets/ddo/{did} — an asset's DDO from the provider's own index (the route
Ocean Node serves and marketplaces read asset pages from)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from provider.api.deps import ServicesDep
from provider.assets.ddo import did_hex
from provider.errors import NotFound

__all__ = ["router"]

router = APIRouter()


# A DID is 71 characters; the cap keeps what the schema advertises (and fuzzers send) short.
DidPath = Annotated[str, Path(max_length=100)]


@router.get("/api/aquarius/assets/ddo/{did}")
def ddo(did: DidPath, services: ServicesDep) -> dict[str, Any]:
    did_hex(did)  # a malformed DID is a 400, before any chain is asked
    if services.index is None:
        raise NotFound(f"asset {did} not found: this provider serves no chain")
    return services.index.ddo(did)
