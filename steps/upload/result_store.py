"""Copy a job's committed results to the provider's result store (``workflows/result_store``).

The manifest goes last, so a reader that finds ``results.json`` finds every file it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from steps.readers.guard import SourcePolicy
from steps.upload.base import UploadError
from steps.upload.s3 import upload_s3
from workflows import contract
from workflows.result_store import ResultStore

__all__ = ["STORE_POLICY", "copy_to_store"]

# The operator's own store, often at a cluster address: not a source the consumer chose, so
# the guard against private addresses does not apply to it.
STORE_POLICY = SourcePolicy.parse("0.0.0.0/0,::/0")
_TIMEOUT_SECONDS = 300.0


def copy_to_store(results: Path, names: Sequence[str], job_id: str, store: ResultStore) -> None:
    """Upload each of ``names`` then the manifest; UploadError names the file that failed."""
    for name in [*names, contract.RESULTS_MANIFEST]:
        try:
            with (results / name).open("rb") as source:
                upload_s3(source, store.access(job_id, name), name, STORE_POLICY, _TIMEOUT_SECONDS)
        except UploadError as error:
            raise UploadError(f"{name} to the result store: {error}") from None
        except OSError as error:
            raise UploadError(
                f"{name} unreadable for the result store ({error.strerror})"
            ) from None
