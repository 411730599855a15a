"""``outputs.tar`` to an FTP server (``ftp://``) or over explicit TLS (``ftps://``), as STOR."""

from __future__ import annotations

from steps.readers.ftpclient import describe_ftp_error, open_ftp
from steps.readers.guard import SourcePolicy
from steps.upload.base import Readable, UploadError, destination_name

__all__ = ["upload_ftp"]

_BLOCK = 64 * 1024


def upload_ftp(
    source: Readable, url: str, file_name: str, policy: SourcePolicy, timeout: float
) -> str:
    try:
        client, path = open_ftp(url, policy, timeout)
        try:
            path = destination_name(path, file_name)
            client.storbinary(f"STOR {path}", source, blocksize=_BLOCK)
        finally:
            client.close()
    except Exception as error:  # the FTP failures are worded; anything else propagates
        reason = describe_ftp_error(error, timeout)
        if reason is None:
            raise
        raise UploadError(f"FTP upload failed: {reason}") from None
    return f"ftp server {client.host}, path {path}"
