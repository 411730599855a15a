"""GET / — what this provider is and where each service lives (clients find every URL here)."""

from __future__ import annotations

from typing import Any

from eth_keys.datatypes import PrivateKey
from fastapi import APIRouter

from provider import __version__
from provider.api.deps import ServicesDep

__all__ = ["SERVICE_ENDPOINTS", "router"]

router = APIRouter()

# Ocean clients look routes up by these names; the names must match Ocean Node's.
SERVICE_ENDPOINTS: dict[str, tuple[str, str]] = {
    "nonce": ("GET", "/api/services/nonce"),
    "computeEnvironments": ("GET", "/api/services/computeEnvironments"),
    "freeCompute": ("POST", "/api/services/freeCompute"),
    "computeStart": ("POST", "/api/services/compute"),
    "computeStatus": ("GET", "/api/services/compute"),
    "computeStop": ("PUT", "/api/services/compute"),
    "computeResult": ("GET", "/api/services/computeResult"),
    "computeStreamableLogs": ("GET", "/api/services/computeStreamableLogs"),
    "generateAuthToken": ("POST", "/api/services/auth/token"),
    "invalidateAuthToken": ("POST", "/api/services/auth/token/invalidate"),
    "initializeCompute": ("POST", "/api/services/initializeCompute"),
    "encrypt": ("POST", "/api/services/encrypt"),
    "initialize": ("GET", "/api/services/initialize"),
    "download": ("GET", "/api/services/download"),
    "fileinfo": ("POST", "/api/services/fileInfo"),
    "decrypt": ("POST", "/api/services/decrypt"),
}


@router.get("/")
def discovery(services: ServicesDep) -> dict[str, Any]:
    public_key = PrivateKey(bytes(services.account.key)).public_key.to_compressed_bytes()
    return {
        "software": "c2d",
        "version": __version__,
        # Every chain served (an unpriced one still serves access and the asset index).
        "chainIds": sorted(services.chain_ids),
        "providerAddress": services.account.address,
        "nodePublicKey": "0x" + public_key.hex(),
        "serviceEndpoints": {name: list(route) for name, route in SERVICE_ENDPOINTS.items()},
        "sandbox": services.sandbox_description,
        # The operator's opt-out: jobs may run without cgroup limits where none are usable.
        "weakSandboxAllowed": services.settings.allow_weak_sandbox,
    }
