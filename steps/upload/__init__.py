"""Sending ``outputs.tar`` to the consumer's storage (the ``output`` of the start request)."""

from __future__ import annotations

from pathlib import Path

from steps.readers.guard import SourcePolicy
from steps.upload.aes import Encrypting
from steps.upload.base import UploadError
from steps.upload.ftp import upload_ftp
from steps.upload.s3 import upload_s3
from workflows.output_spec import OutputSpec, S3Storage

__all__ = ["UploadError", "upload_archive"]


def upload_archive(
    archive: Path, output: OutputSpec, *, policy: SourcePolicy, timeout: float
) -> str:
    """Stream ``archive`` (encrypted when asked) to the storage; returns where it went.

    ``timeout`` is the longest wait without progress. Raises UploadError with a reason safe
    to show the job's owner (no URL, no key).
    """
    storage = output.remote_storage
    with archive.open("rb") as plain:
        source = Encrypting(plain, output.encryption) if output.encryption else plain
        if isinstance(storage, S3Storage):
            return upload_s3(source, storage.s3_access, output.file_name, policy, timeout)
        return upload_ftp(source, storage.url, output.file_name, policy, timeout)
