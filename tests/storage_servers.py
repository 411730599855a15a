"""Real storage servers on loopback for the storage tests: an S3 API (ministack, SigV4 checked)
and an FTP server (pyftpdlib), started and stopped by the tests themselves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler, TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import ThreadedFTPServer

__all__ = ["FtpServer", "S3Server", "free_port"]

_ALL_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """ministack with AUTH=true: requests signed with a wrong secret or unknown key are refused.

    Its root key is not signature-checked, so the tests use an IAM user's key made through
    its IAM API, allowed ``s3:*``.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AUTH": "true",
            # It binds 0.0.0.0 unless told otherwise.
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.port),
        }
        self._log = (workdir / "ministack.log").open("wb")
        ministack = Path(sys.executable).with_name("ministack")
        self._process = subprocess.Popen(
            [str(ministack)], cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        iam = self._client("iam", "test", "test")
        iam.create_user(UserName="consumer")
        iam.put_user_policy(UserName="consumer", PolicyName="s3", PolicyDocument=_ALL_S3)
        key = iam.create_access_key(UserName="consumer")["AccessKey"]
        self.access_key_id: str = key["AccessKeyId"]
        self.secret_access_key: str = key["SecretAccessKey"]
        self.s3 = self._client("s3", self.access_key_id, self.secret_access_key)

    def _client(self, service: str, key: str, secret: str) -> Any:
        return botocore.session.get_session().create_client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ministack exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("ministack did not listen within 60 s")

    def access(self, bucket: str, key: str, **changes: Any) -> dict[str, Any]:
        """An Ocean ``s3Access`` object for this server."""
        return {
            "endpoint": self.endpoint,
            "region": "us-east-1",
            "bucket": bucket,
            "objectKey": key,
            "accessKeyId": self.access_key_id,
            "secretAccessKey": self.secret_access_key,
            "forcePathStyle": True,
            **changes,
        }

    def read(self, bucket: str, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


class _DroppingDTP(DTPHandler):
    """Closes the data connection and the session after a few KiB of an upload."""

    def handle_read(self) -> None:
        super().handle_read()
        if self.tot_bytes_received >= 4096:
            self.cmd_channel.close()
            self.close()

    handle_read_event = handle_read  # the base class aliases its own handle_read


class _OwnFtpServer(ThreadedFTPServer):
    """pyftpdlib shares its exit event and lock between all threaded servers of a process (class
    attributes), and its IOLoop by default: closing one server would end every other one's
    sessions. Each gets its own here."""

    def __init__(self, address: tuple[str, int], handler: type[FTPHandler], ioloop: IOLoop) -> None:
        self._exit = threading.Event()
        self._lock = threading.Lock()
        super().__init__(address, handler, ioloop=ioloop)


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, made with openssl."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path) -> TlsFiles:
        files = cls(folder / "cert.pem", folder / "key.pem")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(files.key), "-out", str(files.cert),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return files


class FtpServer:
    """pyftpdlib in a thread; user ``consumer`` (password ``secret``) owns ``root``.

    ``drop_after_start`` makes it close the connection in the middle of every upload.
    """

    def __init__(
        self, root: Path, *, drop_after_start: bool = False, tls: TlsFiles | None = None
    ) -> None:
        self.root = root
        self.scheme = "ftps" if tls else "ftp"
        root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user("consumer", "secret", str(root), perm="elradfmw")
        attributes: dict[str, object] = {"authorizer": authorizer}
        if tls:
            # Explicit TLS (AUTH TLS) required on the control and the data channels.
            attributes.update(
                certfile=str(tls.cert),
                keyfile=str(tls.key),
                tls_control_required=True,
                tls_data_required=True,
            )
        base = TLS_FTPHandler if tls else FTPHandler
        handler = type("Handler", (base,), attributes)
        handler.dtp_handler = _DroppingDTP if drop_after_start else DTPHandler
        if tls:
            handler.dtp_handler = TLS_DTPHandler
        self._server = _OwnFtpServer(("127.0.0.1", 0), handler, ioloop=IOLoop())
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str, *, password: str = "secret") -> str:
        return f"{self.scheme}://consumer:{password}@127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._server.close_all()
        self._thread.join(10)
