"""``c2d chain up/down``: idempotent, files in the shape Ocean tools read, clear port errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from devkit.launch import free_port

KEYS = {
    "chainId",
    "startBlock",
    "RPC",
    "Ocean",
    "ERC721Factory",
    "Router",
    "FixedPrice",
    "Dispenser",
    "Escrow",
    "OPFCommunityFeeCollector",
    "ERC721Template",
    "ERC20Template",
}


def c2d(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", "chain", *args],
        env={**os.environ, "C2D_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_is_idempotent_and_down_forgets_the_chain(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = str(free_port())
    first = c2d(home, "up", "--port", port)
    assert first.returncode == 0, first.stderr
    assert "dev chain started" in first.stdout
    addresses = json.loads((home / "chain" / "addresses.json").read_text())["development"]
    assert set(addresses) == KEYS
    assert addresses["chainId"] == 8996 and addresses["RPC"] == f"http://127.0.0.1:{port}"
    assert set(addresses["ERC20Template"]) == {"1"}
    accounts = json.loads((home / "chain" / "accounts.json").read_text())
    assert len(accounts) == 10 and set(accounts[0]) == {"address", "privateKey"}
    assert (home / "chain" / "accounts.json").stat().st_mode & 0o077 == 0

    again = c2d(home, "up", "--port", port)
    assert again.returncode == 0 and "already running" in again.stdout
    assert json.loads((home / "chain" / "addresses.json").read_text())["development"] == addresses

    down = c2d(home, "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not (home / "chain" / "addresses.json").exists()
    assert "no dev chain was running" in c2d(home, "down").stdout


def test_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = c2d(tmp_path / "home", "up", "--port", str(port))
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr
    assert "Traceback" not in done.stderr
