"""Engine-side parts of an environment's config: host runtimes (local engine), pod placement
(Argo engine)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["KubernetesConfig", "RuntimeConfig"]


class KubernetesConfig(BaseModel):
    """Where the Argo engine places an environment's algorithm pods (ignored by the local one)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    runtime_class_name: str | None = Field(
        default=None, alias="runtimeClassName", description="e.g. gvisor"
    )
    node_selector: dict[str, str] = Field(default_factory=dict, alias="nodeSelector")
    tolerations: tuple[dict[str, Any], ...] = ()


class RuntimeConfig(BaseModel):
    """A local stand-in for container images: read-only host paths bound into the sandbox."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    images: tuple[str, ...] = Field(min_length=1)
    binds: tuple[str, ...] = ("/usr",)
    path: str = "/usr/local/bin:/usr/bin:/bin"
    # Names the image provides that the host may lack, e.g. {"python": "/usr/bin/python3"}.
    commands: dict[str, str] = Field(default_factory=dict)

    @field_validator("binds")
    @classmethod
    def _safe_binds(cls, binds: tuple[str, ...]) -> tuple[str, ...]:
        for bind in binds:
            resolved = os.path.realpath(bind)
            if resolved == "/" or not os.path.isabs(bind):
                raise ValueError(f"bind {bind!r} must be an absolute path other than /")
        return binds
