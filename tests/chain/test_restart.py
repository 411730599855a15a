"""A paid job interrupted by a provider crash is still settled after the restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from devkit.publish import AssetDraft
from provider.chain.files import DevChain
from tests.chain.conftest import SERVER_ENV
from tests.chain.homes import provider_home
from tests.chain.market import CONTAINER, Market, job_body
from workflows.status import JobStatus

SLOW = "import time\nprint('working', flush=True)\ntime.sleep(3)\nprint('done')\n"


@pytest.fixture
def own_home(tmp_path: Path, chain_home: Path) -> Path:
    """A second provider (own key, own state) on the session's chain."""
    return provider_home(chain_home, tmp_path / "home")


@pytest.fixture
def server(own_home: Path) -> Iterator[list[ServerProcess]]:
    running = [start_server(own_home, env=SERVER_ENV)]
    yield running
    running[-1].stop()


def test_settlement_survives_a_crash(
    own_home: Path,
    server: list[ServerProcess],
    dev_chain: DevChain,
    market: Market,
    buyer: LocalAccount,
) -> None:
    (market.files.folder / "slow.py").write_text(SLOW)  # type: ignore[attr-defined]
    with Market(market.client, dev_chain, server[0].url, market.publisher) as local:
        local.files = market.files
        algorithm = local.publish(
            AssetDraft(
                name="slow",
                type="algorithm",
                files=[{"type": "url", "url": market.files.url("slow.py")}],
                container=dict(CONTAINER),
            )
        )
        dataset = local.dataset({"publisherTrustedAlgorithms": [{"did": algorithm.did}]})
        local.fund_escrow(buyer, deposit=10, authorize=10)
        started = local.ordered_start(buyer, job_body(algorithm, [dataset]), [algorithm, dataset])
        assert started.status_code == 200, started.text
        job_id = started.json()[0]["jobId"]
        with C2DClient(server[0].url, buyer) as c2d:
            _wait(lambda: c2d.status(job_id)["status"] == JobStatus.RUNNING_ALGORITHM)
        assert local.escrow_funds(buyer.address)[1] > 0

        server[0].kill()
        server.append(start_server(own_home, env=SERVER_ENV))
        with C2DClient(server[-1].url, buyer) as c2d:
            _wait(lambda: c2d.status(job_id)["status"] not in _UNSETTLED, timeout=60)
            final = c2d.status(job_id)
            # A job that ended while the provider was starting is settled by its resume pass.
            _wait(lambda: local.escrow_funds(buyer.address)[1] == 0, timeout=30)
            assert c2d.status(job_id)["status"] != JobStatus.SETTLING, final


_UNSETTLED = {0, 1, 20, 30, 40, 60, 71}


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")
