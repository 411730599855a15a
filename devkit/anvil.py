"""The anvil process of the dev chain: start it detached on 127.0.0.1, find it, stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from devkit.artifacts import ANVIL_BINARY, js_dir
from provider.chain.files import ChainFiles
from provider.chain.rpc import rpc_answers
from provider.errors import ConfigError

__all__ = ["DEV_CHAIN_ID", "anvil_keys", "start_anvil", "stop_anvil"]

DEV_CHAIN_ID = 8996
_HOST = "127.0.0.1"


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((_HOST, port))
        except OSError:
            return True
    return False


def start_anvil(
    files: ChainFiles, port: int, *, accounts: int = 10, chain_id: int = DEV_CHAIN_ID
) -> str:
    """Start anvil detached (it outlives this command), record its pid, return the RPC URL."""
    if _port_taken(port):
        raise ConfigError(
            f"port {port} on {_HOST} is taken by another process; stop it or pick another"
            " port with --port"
        )
    binary = js_dir() / "node_modules" / ANVIL_BINARY
    if not binary.exists():
        raise ConfigError(f"anvil not found at {binary}: run `npm ci` in js/")
    files.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    config_out = files.folder / "anvil-config.json"
    command = [
        str(binary),
        "--host",
        _HOST,
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--accounts",
        str(accounts),
        "--config-out",
        str(config_out),
    ]
    with files.log.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    files.pid.write_text(str(process.pid))
    rpc = f"http://{_HOST}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"anvil exited with {process.returncode}; see {files.log}")
        if rpc_answers(rpc) == chain_id:
            return rpc
        time.sleep(0.05)
    stop_anvil(files)
    raise ConfigError(f"anvil did not answer on {rpc} within 30 s; see {files.log}")


def anvil_keys(files: ChainFiles) -> list[str]:
    """The private keys anvil generated (from its --config-out file)."""
    raw = json.loads((files.folder / "anvil-config.json").read_text())
    return [str(key) for key in raw["private_keys"]]


def stop_anvil(files: ChainFiles) -> bool:
    """Stop the anvil this folder started (by its recorded pid); False if none was running."""
    try:
        pid = int(files.pid.read_text().strip())
    except (OSError, ValueError):
        return False
    if not _is_anvil(pid):
        files.pid.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _is_anvil(pid):
        time.sleep(0.05)
    if _is_anvil(pid):
        os.kill(pid, signal.SIGKILL)
    files.pid.unlink(missing_ok=True)
    return True


def _is_anvil(pid: int) -> bool:
    """Whether ``pid`` is alive and is an anvil (a recycled pid must never be killed)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # A zombie (exited, not yet reaped) has an empty command line.
    return bool(cmdline) and b"anvil" in cmdline.split(b"\0")[0]
