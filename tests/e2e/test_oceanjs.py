"""The real client: ocean.js (@oceanprotocol/lib 8.0.0 from npm) against a running provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from provider.demo.files import FileServer
from provider.launch import ServerProcess

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "e2e" / "js" / "oceanjs_compat.mjs"
JS_DIR = REPO / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_oceanjs_free_compute_flow(server: ServerProcess, file_server: FileServer) -> None:
    assert (JS_DIR / "node_modules" / "@oceanprotocol" / "lib").is_dir(), (
        "run `make test` (npm ci in js/)"
    )
    consumer = Account.create()
    done = subprocess.run(
        ["node", str(SCRIPT)],
        env={
            **os.environ,
            "PROVIDER_URL": server.url,
            "CONSUMER_KEY": consumer.key.hex(),
            "DATASET_URL": file_server.url("weather.csv"),
            "C2D_JS_DIR": str(JS_DIR),
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["resultBytes"] > 0
