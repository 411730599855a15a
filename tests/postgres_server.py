"""A throwaway PostgreSQL server on loopback, from Debian's postgresql package (Makefile).

initdb makes a cluster in a fresh folder, pg_ctl starts it on 127.0.0.1 (no Unix socket) and
stops it at the end. PostgreSQL refuses to run as root, so under root both run as the
``postgres`` user the package creates, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.storage_servers import free_port

__all__ = ["PostgresServer", "postgres_missing"]


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def postgres_missing() -> str | None:
    if _bin_dir() is None:
        return "needs PostgreSQL's initdb (Debian's postgresql package: `make test` installs it)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "needs runuser to start PostgreSQL as the postgres user"
    return None


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None, postgres_missing()
        self._bin = bin_dir
        self._root = Path(tempfile.mkdtemp(prefix="c2d-pg-"))
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self._root, "postgres", "postgres")
        self.data = self._root / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "c2d", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self._root / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k ''",
            "-w",
            "start",
        )
        self.url = f"postgresql://c2d@127.0.0.1:{self.port}/postgres"

    def fresh_database(self, name: str) -> str:
        """The URL of a new empty database ``name`` on this server."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "c2d", name)
        return f"postgresql://c2d@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self._bin / tool), *args],
            check=True,
            cwd=self._root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )
