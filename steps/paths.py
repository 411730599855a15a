"""PathMap: where a contract path (``/data``, ``/c2d/...``) lives on this host."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from workflows.contract import PATH_MAP_ENV

__all__ = ["PathMap", "PathMapError"]


class PathMapError(ValueError):
    """The path map is malformed, or a path falls outside every mapped mount point."""


@dataclass(frozen=True)
class PathMap:
    """Contract mount points → host folders; with no mounts, every path is itself (Kubernetes)."""

    mounts: tuple[tuple[PurePosixPath, Path], ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PathMap:
        raw = environ.get(PATH_MAP_ENV)
        if raw is None:
            return cls()
        try:
            table = json.loads(raw)
        except json.JSONDecodeError as error:
            raise PathMapError(f"{PATH_MAP_ENV} is not JSON: {error.msg}") from None
        if not isinstance(table, dict) or not table:
            raise PathMapError(f"{PATH_MAP_ENV} must be a non-empty JSON object")
        mounts: list[tuple[PurePosixPath, Path]] = []
        for mount, host in table.items():
            if not isinstance(host, str):
                raise PathMapError(f"{PATH_MAP_ENV}: {mount} must map to a string")
            mounts.append((_absolute(mount), Path(_absolute(host))))
        # Longest mount point first, so /c2d/logs wins over a /c2d mapping.
        mounts.sort(key=lambda item: len(item[0].parts), reverse=True)
        return cls(tuple(mounts))

    def resolve(self, contract_path: str) -> Path:
        path = _absolute(contract_path)
        if not self.mounts:
            return Path(path)
        for mount, host in self.mounts:
            if path == mount or mount in path.parents:
                return host.joinpath(*path.parts[len(mount.parts) :])
        # A mapped run must never fall through to the host's real /data or /c2d.
        raise PathMapError(f"{contract_path} is under no mapped mount point")


def _absolute(raw: str) -> PurePosixPath:
    path = PurePosixPath(raw)
    if not path.is_absolute() or ".." in path.parts:
        raise PathMapError(f"{raw!r} must be an absolute path without '..'")
    return path
