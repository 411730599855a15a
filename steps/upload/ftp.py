"""``outputs.tar`` to an FTP server (``ftp://``) or over explicit TLS (``ftps://``), as STOR.

The control connection goes to the address the source guard permits; data connections go to
the same peer (ftplib ignores the address in a PASV answer), so a server cannot aim the upload
elsewhere.
"""

from __future__ import annotations

import ftplib
import socket
import ssl
from urllib.parse import unquote, urlsplit

from steps.readers.guard import SOURCE_NETWORKS_ENV, AddressRefused, SourcePolicy, permitted_address
from steps.upload.base import Readable, UploadError, destination_name

__all__ = ["upload_ftp"]

_BLOCK = 64 * 1024
_REPLY_CAP = 200


def upload_ftp(
    source: Readable, url: str, file_name: str, policy: SourcePolicy, timeout: float
) -> str:
    parts = urlsplit(url)
    secure = parts.scheme == "ftps"
    host = parts.hostname or ""
    port = parts.port or (990 if secure else 21)
    path = destination_name(unquote(parts.path), file_name)
    # The consumer asked for FTP (Ocean Node's ftp storage); ftps:// gets TLS.
    client = (
        ftplib.FTP_TLS(context=ssl.create_default_context())  # noqa: S321
        if secure
        else ftplib.FTP()  # noqa: S321
    )
    try:
        address = permitted_address(policy, host, port)
        client.connect(address, port, timeout=timeout)
        # TLS checks the certificate against the name, not the address connected to.
        client.host = host
        client.login(
            unquote(parts.username or "anonymous"), unquote(parts.password or "anonymous@")
        )
        if isinstance(client, ftplib.FTP_TLS):
            client.prot_p()
        client.storbinary(f"STOR {path}", source, blocksize=_BLOCK)
    except AddressRefused as refused:
        raise UploadError(
            f"FTP upload failed: {refused}; an operator may allow its network with"
            f" {SOURCE_NETWORKS_ENV}"
        ) from None
    except ftplib.Error as error:
        raise UploadError(f"FTP upload failed: the server answered {_reply(error)}") from None
    except TimeoutError:
        raise UploadError(f"FTP upload failed: no progress for {timeout:g} s") from None
    except socket.gaierror:
        raise UploadError("FTP upload failed: host name could not be resolved") from None
    except ssl.SSLError:
        raise UploadError("FTP upload failed: TLS handshake failed") from None
    except ConnectionRefusedError:
        raise UploadError("FTP upload failed: connection refused") from None
    except (OSError, EOFError):
        raise UploadError("FTP upload failed: the server closed the connection") from None
    finally:
        client.close()
    return f"ftp server {host}, path {path}"


def _reply(error: ftplib.Error) -> str:
    text = "".join(c if c.isprintable() else " " for c in str(error))
    return text[:_REPLY_CAP].strip() or "with an error"
