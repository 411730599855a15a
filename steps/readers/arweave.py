"""Reader for ``type: arweave`` files: ``<gateway>/<transactionId>`` (as Ocean Node builds it)."""

from __future__ import annotations

from steps.readers.gateway import GatewayReader
from steps.readers.guard import SourcePolicy
from workflows.spec import FileObject

__all__ = ["arweave_reader"]


def _locate(file: FileObject) -> str:
    return f"{file.gateway}/{file.transaction_id}"


def arweave_reader(policy: SourcePolicy) -> GatewayReader:
    return GatewayReader(policy, _locate)
