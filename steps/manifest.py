"""Writing results.json (its format: workflows/manifest.py), atomically, as publish's last act."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from steps._files import atomic_writer
from workflows import contract
from workflows.engines.base import ResultFile
from workflows.manifest import manifest_bytes

__all__ = ["write_manifest"]


def write_manifest(folder: Path, files: Sequence[ResultFile]) -> Path:
    """Write ``folder/results.json`` atomically; call it after every listed file is in place."""
    body = manifest_bytes(files)
    dest = folder / contract.RESULTS_MANIFEST
    with atomic_writer(dest) as out:
        out.write(body)
    return dest
