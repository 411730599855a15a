"""results.json: the job's results[] list, written last by publish and read by the engines.

The format lives here, below both: the steps write it (steps/manifest.py adds the atomic write),
the engines and ``c2d results`` read it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from workflows import contract
from workflows.engines.base import ResultFile
from workflows.jobfiles import JobFilePath, RefusedJobFile, read_job_file

__all__ = ["ManifestError", "manifest_bytes", "parse_manifest", "read_manifest"]

_RESULTS = TypeAdapter(list[ResultFile])
# A handful of entries in practice; a larger file is cut and then fails to parse.
_MAX_MANIFEST_BYTES = 1024 * 1024


class ManifestError(ValueError):
    """results.json is missing, malformed, or names a file outside its folder."""


def manifest_bytes(files: Sequence[ResultFile]) -> bytes:
    """The body of results.json for ``files``; ManifestError when one is unsafe to list."""
    _check(files)
    return json.dumps([asdict(item) for item in files], indent=2).encode()


def read_manifest(folder: Path) -> list[ResultFile]:
    """The list in ``folder/results.json``, opened as a job's file (no links, capped)."""
    source = JobFilePath(folder.parent, f"{folder.name}/{contract.RESULTS_MANIFEST}")
    try:
        files = _RESULTS.validate_json(read_job_file(source, _MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise ManifestError(f"no {contract.RESULTS_MANIFEST}") from None
    except (OSError, ValidationError, RefusedJobFile) as error:
        raise ManifestError(f"unreadable {contract.RESULTS_MANIFEST}: {error}") from None
    _check(files)
    return files


def parse_manifest(body: bytes) -> list[ResultFile]:
    """The list in a results.json read from elsewhere (a result store); capped like a file."""
    if len(body) > _MAX_MANIFEST_BYTES:
        raise ManifestError(f"{contract.RESULTS_MANIFEST} is too large")
    try:
        files = _RESULTS.validate_json(body)
    except ValidationError as error:
        raise ManifestError(f"unreadable {contract.RESULTS_MANIFEST}: {error}") from None
    _check(files)
    return files


def _check(files: Sequence[ResultFile]) -> None:
    # The engines serve these names from the folder: a path would let a manifest point elsewhere.
    for position, item in enumerate(files):
        if item.index != position:
            raise ManifestError(f"result {position} has index {item.index}")
        name = item.filename
        if not name or "/" in name or "\x00" in name or name in (".", ".."):
            raise ManifestError(f"result {position} has an unsafe file name")
        if item.filesize < 0:
            raise ManifestError(f"result {position} has a negative size")
