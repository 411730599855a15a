"""``c2d publish`` checks its input before its first transaction: a refusal is one line,
exit 2, and the publisher's nonce shows that nothing was sent to the chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, free_port
from provider.chain.client import ChainClient
from provider.chain.files import DevChain

_DID = "did:op:" + "ab" * 32


def _publish(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", "publish", *args],
        env={**os.environ, "C2D_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (
            "dataset",
            {"--trust-algorithm": "did:op:123"},
            "--trust-algorithm 'did:op:123': 'did:op:123' is no DID (did:op: and 64 hex digits)",
        ),
        (
            "dataset",
            {"--trust-algorithm": f"{_DID},abc"},
            "the files checksum must be one sha256 (64 hex digits) per file",
        ),
        (
            "algorithm",
            {"--trust-algorithm": _DID},
            "--trust-algorithm is for datasets with a compute service",
        ),
        ("dataset", {"--mint-to": "0x1234"}, "--mint-to '0x1234' is no address"),
        ("dataset", {"--file": "missing.csv"}, "answered 404; publish a URL that serves the file"),
        ("algorithm", {"--file": "unreachable"}, "not reachable"),
        ("dataset", {"--file": "ftp://example.org/x"}, "only http:// and https:// URLs"),
        ("dataset", {"--provider": "nowhere"}, "start one with `c2d serve` or give its address"),
        ("dataset", {"--account": "99"}, "--account 99: the dev chain has accounts 0 to"),
    ],
)
def test_bad_input_is_refused_before_any_transaction(
    chain_home: Path,
    dev_chain: DevChain,
    paid_server: ServerProcess,
    chain_files: FileServer,
    kind: str,
    change: dict[str, str],
    message: str,
) -> None:
    options = {
        "--name": "checked",
        "--file": chain_files.url("weather.csv"),
        "--provider": paid_server.url,
        "--account": "1",
        **change,
    }
    if options["--file"] == "missing.csv":
        options["--file"] = chain_files.url("missing.csv")
    elif options["--file"] == "unreachable":
        options["--file"] = f"http://127.0.0.1:{free_port()}/stats.py"
    if options["--provider"] == "nowhere":
        options["--provider"] = f"http://127.0.0.1:{free_port()}"
    args = [kind, *(part for pair in options.items() for part in pair)]
    client = ChainClient(dev_chain.rpc)
    publisher = dev_chain.accounts[1].address
    nonce = client.w3.eth.get_transaction_count(publisher, "pending")

    done = _publish(chain_home, *args)

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("c2d: ") and message in line, line
    assert done.stdout == ""
    assert client.w3.eth.get_transaction_count(publisher, "pending") == nonce
