"""The real client: ocean.js (@oceanprotocol/lib 8.0.0 from npm) against a running provider."""

from __future__ import annotations

from eth_account import Account

from provider.demo.files import FileServer
from provider.launch import ServerProcess
from tests.e2e.oceanjs import run_oceanjs


def test_oceanjs_free_compute_flow(server: ServerProcess, file_server: FileServer) -> None:
    consumer = Account.create()
    summary = run_oceanjs(
        "oceanjs_compat.mjs",
        {
            "PROVIDER_URL": server.url,
            "CONSUMER_KEY": consumer.key.hex(),
            "DATASET_URL": file_server.url("weather.csv"),
        },
    )
    assert summary["ok"] is True
    assert summary["resultBytes"] > 0
