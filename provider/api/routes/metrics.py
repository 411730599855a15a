"""GET /metrics — the provider's Prometheus metrics (text exposition format)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from provider.api.deps import ServicesDep
from provider.observability.metrics import CONTENT_TYPE

__all__ = ["router"]

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
