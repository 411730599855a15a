"""Reader for ``type: ftp`` files: ``ftp://`` or ``ftps://`` URLs, RETR streamed."""

from __future__ import annotations

from collections.abc import Generator

from steps.readers.base import FetchError
from steps.readers.ftpclient import describe_ftp_error, open_ftp
from steps.readers.guard import SourcePolicy
from workflows.spec import FileObject

__all__ = ["FtpReader"]

_CHUNK = 64 * 1024


class FtpReader:
    def __init__(self, policy: SourcePolicy | None = None) -> None:
        self._policy = policy or SourcePolicy()

    def read(
        self, file: FileObject, *, timeout: float, max_bytes: int
    ) -> Generator[bytes, None, None]:
        try:
            client, path = open_ftp(file.url, self._policy, timeout)
            try:
                client.voidcmd("TYPE I")
                connection, declared = client.ntransfercmd(f"RETR {path}")
                if declared is not None and declared > max_bytes:
                    connection.close()
                    raise FetchError(
                        f"size cap exceeded: the server announced {declared} bytes,"
                        f" {max_bytes} bytes left"
                    )
                with connection:
                    while chunk := connection.recv(_CHUNK):
                        yield chunk
                    if hasattr(connection, "unwrap"):
                        connection.unwrap()
                client.voidresp()
            finally:
                client.close()
        except FetchError:
            raise
        except Exception as error:  # the FTP failures are worded; anything else propagates
            reason = describe_ftp_error(error, timeout)
            if reason is None:
                raise
            raise FetchError(reason) from None
