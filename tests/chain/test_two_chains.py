"""Two anvil chains with the Ocean contracts, served together from the config file alone:
a paid job on each, claims on each; a dead first RPC, a chain that goes away and comes back."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.anvil import anvil_keys, start_anvil, stop_anvil
from devkit.client import C2DClient
from devkit.consumer import with_orders
from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.deploy import deploy_ocean
from devkit.launch import ServerProcess, free_port, start_server
from provider.chain.client import ChainClient
from provider.chain.escrow import Claim, EscrowClient, escrow_job_id
from provider.chain.files import ChainFiles, DevChain
from provider.cli import main
from tests.chain.cli import assert_refused, submit_cli
from tests.chain.market import UNIT, Market, job_body, oceanjs_paid_job, wait_settled
from tests.chain.tcp_proxy import TcpProxy
from tests.chain.test_access_on_chain import access_asset
from tests.chain.test_access_on_chain import download as access_download
from tests.chain.test_access_on_chain import order as access_order
from workflows.status import JobStatus

CHAIN_A, CHAIN_B = 31337, 31338
CONFIRMATIONS_A = 3


@dataclass
class Deployed:
    files: ChainFiles
    chain: DevChain


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Deployed]]:
    chains: dict[int, Deployed] = {}
    try:
        for chain_id in (CHAIN_A, CHAIN_B):
            files = ChainFiles(tmp_path_factory.mktemp(f"chain-{chain_id}"))
            rpc = start_anvil(files, free_port(), chain_id=chain_id)
            chain = deploy_ocean(ChainClient(rpc), anvil_keys(files))
            files.write(chain)
            chains[chain_id] = Deployed(files, chain)
        yield chains
    finally:
        for each in chains.values():
            stop_anvil(each.files)


@pytest.fixture(scope="module")
def proxy_b(deployed: dict[int, Deployed]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(int(deployed[CHAIN_B].chain.rpc.rsplit(":", 1)[1]))
    yield proxy
    proxy.down()


def _environment(env_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": env_id,
        "maxJobDuration": 600,
        "resources": [
            {"id": "cpu", "total": 2, "max": 1},
            {"id": "ram", "total": 2, "max": 1},
            {"id": "disk", "total": 2, "max": 1},
        ],
        "runtimes": [
            {
                "images": ["python:3.11"],
                "binds": ["/usr"],
                "commands": {"python": "/usr/bin/python3"},
            }
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def server(
    deployed: dict[int, Deployed], proxy_b: TcpProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("two-chain-home")
    a, b = deployed[CHAIN_A], deployed[CHAIN_B]
    prices = [{"id": "cpu", "price": 1}, {"id": "ram", "price": 0.5}, {"id": "disk", "price": 0.1}]
    config = {
        "chains": [
            {
                "chainId": CHAIN_A,
                # The first RPC is a closed port: the second must be used.
                "rpc": [f"http://127.0.0.1:{free_port()}", a.chain.rpc],
                "addresses": str(a.files.addresses),
                "confirmations": CONFIRMATIONS_A,
            },
            {"chainId": CHAIN_B, "rpc": [proxy_b.url], "addresses": str(b.files.addresses)},
        ],
        "environments": [
            _environment("free", {"free": {"maxJobDuration": 60}}),
            _environment(
                "paid",
                {
                    "fees": {
                        str(CHAIN_A): [{"feeToken": a.chain.ocean, "prices": prices}],
                        str(CHAIN_B): [{"feeToken": b.chain.ocean, "prices": prices}],
                    }
                },
            ),
        ],
    }
    path = home / "c2d.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        "C2D_CONFIG": str(path),
        "C2D_SOURCE_NETWORKS": "127.0.0.0/8",
        "C2D_SETTLEMENT_RETRY": "1",
    }
    process = start_server(home, env=env)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def markets(
    deployed: dict[int, Deployed], server: ServerProcess, chain_files: FileServer
) -> Iterator[dict[int, Market]]:
    found: dict[int, Market] = {}
    for chain_id, each in deployed.items():
        publisher = Account.from_key(each.chain.accounts[1].private_key)
        market = Market(ChainClient(each.chain.rpc), each.chain, server.url, publisher)
        market.files = chain_files
        _fund_provider_gas(market)
        found[chain_id] = market
    yield found
    for market in found.values():
        market.link.close()


def _paid_job(market: Market, *, escrow_last: bool = False) -> tuple[LocalAccount, str]:
    """Publish, fund the escrow, order and start. Where orders count only some blocks deep,
    the first start is refused saying so, and the start after that many blocks is taken."""
    buyer = market.new_consumer()
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    body = job_body(algorithm, [dataset], duration=120)
    if not escrow_last:
        market.fund_escrow(buyer, deposit=10, authorize=10)
    init = market.initialize(buyer, body)
    assert init.status_code == 200, init.text
    orders = {}
    for label, asset, entry in zip(
        ["algorithm", "datasets[0]"],
        [algorithm, dataset],
        [init.json()["algorithm"], *init.json()["datasets"]],
        strict=True,
    ):
        market.give_datatokens(asset, buyer.address, 1)
        orders[label] = market.order(buyer, asset, entry)
    if escrow_last:
        market.fund_escrow(buyer, deposit=10, authorize=10)
    ordered = with_orders(body, orders)
    started = market.start(buyer, ordered)
    if market.chain.chain_id == CHAIN_A:
        assert started.status_code == 400, started.text
        shallow = "escrow: the deposit or authorisation" if escrow_last else "datasets[0]: order"
        assert shallow in started.text, started.text
        assert f"{CONFIRMATIONS_A} blocks deep" in started.text, started.text
        market.client.w3.provider.make_request("anvil_mine", [hex(CONFIRMATIONS_A - 1)])  # type: ignore[arg-type]
        started = market.start(buyer, ordered)
    assert started.status_code == 200, started.text
    return buyer, started.json()[0]["jobId"]


def _check_claimed(market: Market, buyer: LocalAccount, job_id: str) -> dict[str, Any]:
    with C2DClient(market.provider_url, buyer) as c2d:
        job = wait_settled(c2d, job_id)
        assert job["status"] == JobStatus.FINISHED, job
        c2d.login()
        payment = c2d.status(job_id)["payment"]
    assert payment["chainId"] == market.chain.chain_id
    assert payment["token"] == market.chain.ocean
    claimed = int(1.6 * UNIT)  # one started minute of cpu 1 + ram 0.5 + disk 0.1
    assert market.escrow_funds(buyer.address) == (10 * UNIT - claimed, 0)
    assert market.paid_to(market.provider_address, payment["claimTx"]) == claimed - claimed // 1000
    return payment


def test_discovery_lists_both_chains_and_the_start_reports_gas(server: ServerProcess) -> None:
    discovery = httpx.get(server.url + "/").json()
    assert discovery["chainIds"] == [CHAIN_A, CHAIN_B]
    provider = discovery["providerAddress"]
    log = server.log_path.read_text()
    # At start, per chain: the provider's address and its gas; no anvil_* call gave it any.
    for chain_id in (CHAIN_A, CHAIN_B):
        line = next(x for x in log.splitlines() if f"chain {chain_id}: provider {provider}" in x)
        assert "has 0 native tokens for gas" in line
        assert "cannot pay for a claim" in line and "fund it before selling compute" in line


def test_the_cli_asks_which_chain_and_refuses_another_chains_rpc(
    markets: dict[int, Market], server: ServerProcess, tmp_path: Path
) -> None:
    market = markets[CHAIN_B]
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    consumer = market.new_consumer()
    job = ["--algorithm", algorithm.did, "--dataset", dataset.did, "--paid"]

    def submit(*argv: str) -> subprocess.CompletedProcess[str]:
        return submit_cli(consumer, server.url, *job, *argv, home=tmp_path, cwd=tmp_path)

    assert_refused(submit(), f"priced on chains {CHAIN_A}, {CHAIN_B}: give --chain-id")
    # Chain A's RPC for a job paid on chain B: refused before any transaction.
    wrong = submit("--chain-id", str(CHAIN_B), "--rpc", markets[CHAIN_A].chain.rpc)
    assert_refused(wrong, f"serves chain {CHAIN_A}, the job is paid on chain {CHAIN_B}")
    assert market.escrow_funds(consumer.address) == (0, 0)


def test_a_paid_job_on_each_chain_is_claimed_on_its_chain(markets: dict[int, Market]) -> None:
    jobs = {chain_id: _paid_job(market) for chain_id, market in markets.items()}
    claims = {
        chain_id: _check_claimed(markets[chain_id], buyer, job_id)
        for chain_id, (buyer, job_id) in jobs.items()
    }
    # Each claim is a transaction of its own chain (chain A through its second RPC).
    for chain_id, payment in claims.items():
        other = markets[CHAIN_B if chain_id == CHAIN_A else CHAIN_A]
        receipt = markets[chain_id].client.w3.eth.get_transaction_receipt(payment["claimTx"])
        assert receipt["status"] == 1
        with pytest.raises(Exception, match="not found"):
            other.client.w3.eth.get_transaction_receipt(payment["claimTx"])


@pytest.mark.parametrize("chain_id", [CHAIN_A, CHAIN_B])
def test_oceanjs_runs_a_paid_job_on_each_chain(
    markets: dict[int, Market], deployed: dict[int, Deployed], chain_id: int
) -> None:
    """Assets published on the chain (by the devkit); the real ocean.js client finds the
    environment priced on its chain, initializes, pays into that chain's escrow, orders, starts
    and downloads the result; the provider serves both chains from the config file alone."""
    deep = CONFIRMATIONS_A if chain_id == CHAIN_A else 0
    market = markets[chain_id]
    summary = oceanjs_paid_job(market, deployed[chain_id].files.addresses, mine_blocks=deep)
    assert summary["ok"] is True and summary["chainId"] == chain_id
    assert summary["payment"]["escrowAddress"] == market.chain.escrow
    assert summary["resultBytes"] > 0
    assert int(summary["escrowLocked"]) == 0
    assert int(summary["escrowAvailable"]) == int(1.6 * UNIT)


def test_an_escrow_deposit_counts_once_deep_enough(markets: dict[int, Market]) -> None:
    market = markets[CHAIN_A]
    buyer, job_id = _paid_job(market, escrow_last=True)
    _check_claimed(market, buyer, job_id)


def test_an_access_order_is_downloadable_once_deep_enough(markets: dict[int, Market]) -> None:
    market = markets[CHAIN_A]
    buyer = market.new_consumer()
    asset = access_asset(market)
    tx = access_order(market, buyer, asset)
    early = access_download(market, buyer, asset, tx)
    assert early.status_code == 400, early.text
    error = early.json()["error"]
    assert error.startswith(f"download: order {tx} is ")
    assert f"chain {CHAIN_A} accepts orders {CONFIRMATIONS_A} blocks deep" in error
    assert "more block(s)" in error
    market.client.w3.provider.make_request("anvil_mine", [hex(CONFIRMATIONS_A - 1)])  # type: ignore[arg-type]
    later = access_download(market, buyer, asset, tx)
    assert later.status_code == 200, later.text
    assert later.content == (market.files.folder / "weather.csv").read_bytes()  # type: ignore[attr-defined]


def test_a_chain_that_is_down_is_a_503_while_free_jobs_run(
    markets: dict[int, Market], proxy_b: TcpProxy, server: ServerProcess
) -> None:
    market = markets[CHAIN_B]
    buyer = market.new_consumer()
    algorithm = market.algorithm()
    body = job_body(algorithm, [market.dataset(market.trusting(algorithm))])
    proxy_b.down()
    try:
        answer = market.initialize(buyer, body)
        assert answer.status_code == 503, answer.text
        assert f"chain {CHAIN_B}" in answer.text
        started = market.start(
            buyer, {**body, "algorithm": {**body["algorithm"], "transferTxId": "0x" + "ab" * 32}}
        )
        assert started.status_code == 503, started.text
        assert f"chain {CHAIN_B}" in started.text
        with C2DClient(server.url, Account.create()) as c2d:
            job = c2d.free_compute(
                {
                    "environment": "free",
                    "algorithm": {
                        "meta": {"rawcode": "print('free')", "container": assets.CONTAINER}
                    },
                    "datasets": [],
                }
            )
            done = wait_settled(c2d, job["jobId"])
        assert done["status"] == JobStatus.FINISHED, done
    finally:
        proxy_b.up()
    # Back: the same chain serves again.
    assert market.initialize(buyer, body).status_code == 200


def test_chains_command_shows_each_chain(
    markets: dict[int, Market],
    proxy_b: TcpProxy,
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = server.log_path.parent
    monkeypatch.setenv("C2D_HOME", str(home))
    monkeypatch.setenv("C2D_CONFIG", str(home / "c2d.yaml"))
    provider = markets[CHAIN_A].provider_address
    assert main(["chains"]) == 0  # both answer; the provider key was funded on both
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"chain {CHAIN_A}: provider {provider} has 0.9")  # 1, less gas
    assert f"at {markets[CHAIN_A].chain.rpc}" in out[0]  # the second RPC: the first is dead
    assert out[1].startswith(f"chain {CHAIN_B}: provider {provider} has")
    # The provider has indexed the assets of both (the jobs above resolved their DIDs).
    assert out[2].startswith(f"chain {CHAIN_A}: assets indexed to block "), out
    assert out[3].startswith(f"chain {CHAIN_B}: assets indexed to block "), out
    proxy_b.down()
    try:
        assert main(["chains"]) == 1
    finally:
        proxy_b.up()
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"chain {CHAIN_B}: no RPC answers ({proxy_b.url}: ConnectionError)"


def test_a_claim_waits_for_the_rpc_and_lands_once(
    markets: dict[int, Market], proxy_b: TcpProxy, server: ServerProcess
) -> None:
    market = markets[CHAIN_B]
    buyer, job_id = _paid_job(market)
    proxy_b.down()
    try:
        before = _failures(server)
        with C2DClient(market.provider_url, buyer) as c2d:
            _wait(lambda: c2d.status(job_id)["status"] == JobStatus.SETTLING)
        _wait(lambda: _failures(server) > before)  # the claim was tried, and failed
    finally:
        proxy_b.up()
    payment = _check_claimed(market, buyer, job_id)
    assert payment["state"] == "settled"
    # What a claim whose answer was lost is recovered from: the chain's Claimed log.
    payee = SimpleNamespace(address=market.provider_address)
    escrow = EscrowClient(market.client, market.chain.escrow, payee)  # type: ignore[arg-type]
    found = escrow.find_settlement(escrow_job_id(job_id), buyer.address, payment["lockTx"])
    assert found == Claim(payment["claimTx"], int(1.6 * UNIT))


def _failures(server: ServerProcess) -> float:
    text = httpx.get(server.url + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("c2d_settlement_failures_total"))
    return float(line.split()[1])


def _wait(condition: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.2)


def _fund_provider_gas(market: Market) -> None:
    """The operator funds the provider key (a plain transfer, as on a public network)."""
    funder = Account.from_key(market.chain.accounts[3].private_key)
    w3 = market.client.w3
    if w3.eth.get_balance(market.provider_address) > 0:
        return
    tx = {
        "to": market.provider_address,
        "value": 10**18,
        "from": funder.address,
        "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
        "chainId": market.chain.chain_id,
        "gas": 21000,
        "gasPrice": w3.eth.gas_price,
    }
    signed = funder.sign_transaction(tx)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
