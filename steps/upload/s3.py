"""``outputs.tar`` to S3 as a multipart upload: one part in memory at a time."""

from __future__ import annotations

import httpx

from steps.readers.guard import SourcePolicy
from steps.readers.s3client import S3Client, S3Error
from steps.readers.url import describe_http_error
from steps.upload.base import Readable, UploadError, destination_name
from workflows.output_spec import S3Access

__all__ = ["PART_BYTES", "upload_s3"]

# Above S3's 5 MiB minimum; 10 000 parts of 16 MiB cover 156 GiB.
PART_BYTES = 16 * 1024 * 1024


def upload_s3(
    source: Readable, access: S3Access, file_name: str, policy: SourcePolicy, timeout: float
) -> str:
    key = destination_name(access.object_key, file_name).lstrip("/")
    access = access.model_copy(update={"object_key": key})
    try:
        with S3Client(access, policy, timeout) as client:
            upload_id = client.create_multipart()
            try:
                etags: list[str] = []
                # The first part is sent even when empty: S3 needs at least one.
                part = _read_part(source)
                while True:
                    etags.append(client.upload_part(upload_id, len(etags) + 1, part))
                    part = _read_part(source)
                    if not part:
                        break
                client.complete(upload_id, etags)
            except BaseException:
                client.abort(upload_id)
                raise
    except S3Error as error:
        raise UploadError(f"S3 upload failed: {error}") from None
    except httpx.HTTPError as error:
        raise UploadError(f"S3 upload failed: {describe_http_error(error, timeout)}") from None
    return f"s3 bucket {access.bucket}, key {key}"


def _read_part(source: Readable) -> bytes:
    part = bytearray()
    while len(part) < PART_BYTES:
        chunk = source.read(PART_BYTES - len(part))
        if not chunk:
            break
        part += chunk
    return bytes(part)
