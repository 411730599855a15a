"""Reader for ``type: ipfs`` files: ``<gateway>/ipfs/<hash>`` (as Ocean Node builds it)."""

from __future__ import annotations

from steps.readers.gateway import GatewayReader
from steps.readers.guard import SourcePolicy
from workflows.spec import FileObject

__all__ = ["ipfs_reader"]


def _locate(file: FileObject) -> str:
    return f"{file.gateway}/ipfs/{file.hash}"


def ipfs_reader(policy: SourcePolicy) -> GatewayReader:
    return GatewayReader(policy, _locate)
