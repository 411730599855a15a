"""FTP connections for inputs (``type: ftp``) and outputs: through the source guard, and
failures in words safe to show the job's owner (never the URL, which may hold a password).

The control connection goes to the address the guard permits; data connections go to the same
peer (ftplib ignores the address in a PASV answer), so a server cannot aim them elsewhere.
``ftps://`` is explicit TLS (AUTH TLS, then a protected data channel), port 990 by default as
on Ocean Node; the certificate must chain to the system's authorities or to the operator's
``C2D_FTPS_CA_FILE``.
"""

from __future__ import annotations

import ftplib
import os
import socket
import ssl
from urllib.parse import unquote, urlsplit

from steps.readers.guard import AddressRefused, SourcePolicy, permitted_address
from workflows.contract import FTPS_CA_FILE_ENV, SOURCE_NETWORKS_ENV

__all__ = ["describe_ftp_error", "open_ftp"]

_REPLY_CAP = 200


def open_ftp(url: str, policy: SourcePolicy, timeout: float) -> tuple[ftplib.FTP, str]:
    """A logged-in client and the URL's path (unquoted); raises what ``describe`` words."""
    parts = urlsplit(url)
    secure = parts.scheme == "ftps"
    host = parts.hostname or ""
    port = parts.port or (990 if secure else 21)
    # The consumer or publisher asked for FTP (Ocean's ftp storage); ftps:// gets TLS.
    client = ftplib.FTP_TLS(context=_tls_context()) if secure else ftplib.FTP()  # noqa: S321
    try:
        address = permitted_address(policy, host, port)
        client.connect(address, port, timeout=timeout)
        # TLS checks the certificate against the name, not the address connected to.
        client.host = host
        user = unquote(parts.username or "anonymous")
        client.login(user, unquote(parts.password or "anonymous@"))
        if isinstance(client, ftplib.FTP_TLS):
            client.prot_p()
    except BaseException:
        client.close()
        raise
    return client, unquote(parts.path)


def _tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, plus the operator's ``C2D_FTPS_CA_FILE``; the
    server's name (or address) is always checked."""
    context = ssl.create_default_context()
    extra = os.environ.get(FTPS_CA_FILE_ENV)
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def describe_ftp_error(error: BaseException, timeout: float) -> str | None:
    """Words for an FTP failure, or None when ``error`` is not one."""
    if isinstance(error, AddressRefused):
        return f"{error}; an operator may allow its network with {SOURCE_NETWORKS_ENV}"
    if isinstance(error, ftplib.Error):
        text = "".join(c if c.isprintable() else " " for c in str(error))
        return f"the server answered {text[:_REPLY_CAP].strip() or 'with an error'}"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no progress for {timeout:g} s"
    if isinstance(error, socket.gaierror):
        return "host name could not be resolved"
    if isinstance(error, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError | EOFError):
        return "the server closed the connection"
    return None
