"""``c2d submit`` of a paid job on anvil with the Ocean contracts, run as a user runs it: it
orders, deposits and authorises (a line per transaction), the job finishes, the results are
downloaded and the escrow is claimed; what the consumer cannot pay is one line, sent before
any transaction."""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from devkit.publish import Published
from tests.chain.cli import TX, assert_refused, doc_block, run_doc_block, submit_cli
from tests.chain.market import UNIT, Market, wait_settled
from workflows.status import JobStatus


def _assets(market: Market) -> tuple[Published, Published]:
    algorithm = market.algorithm()
    return algorithm, market.dataset(market.trusting(algorithm))


def _job_args(algorithm: Published, dataset: Published) -> list[str]:
    return [
        "--algorithm", algorithm.did, "--dataset", dataset.did, "--duration", "120",
        "--resource", "cpu=1", "--resource", "ram=1", "--resource", "disk=1",
    ]  # fmt: skip


def test_a_paid_job_from_the_cli(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    algorithm, dataset = _assets(market)
    consumer = market.new_consumer()
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)

    # payments.md's block as written; no --rpc: the dev chain of C2D_HOME is the one paid on.
    (tmp_path / "consumer.key").write_text(consumer.key.hex())
    env = {
        "C2D_PROVIDER_URL": paid_server.url,
        "ALGO_DID": algorithm.did,
        "DATASET_DID": dataset.did,
    }
    done = run_doc_block(
        doc_block("docs/payments.md", "--results-dir paid-results"),
        env,
        home=chain_home,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    job_id = done.stdout.splitlines()[0]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id), done.stdout
    assert f"environment paid on chain {market.chain.chain_id}: 3.2 OCEAN for 120 s" in (
        done.stderr
    )
    sent = [(m["what"], m["tx"]) for m in TX.finditer(done.stderr)]
    assert [what for what, _ in sent] == [
        "approve escrow",
        "escrow deposit",
        "escrow authorize",
        "startOrder algorithm",
        "startOrder datasets[0]",
    ], done.stderr
    for _, tx in sent:  # each line names a mined transaction of this consumer
        receipt = market.client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        assert receipt["status"] == 1 and receipt["from"] == consumer.address
    assert "70 Job finished: configure succeeded, algorithm succeeded, publish succeeded" in (
        done.stderr
    )
    with tarfile.open(tmp_path / "paid-results" / "outputs.tar") as tar:
        assert any(name.endswith("stats.json") for name in tar.getnames())

    # One started minute claimed (1.6 of the 3.2 deposited), the rest back in the escrow.
    claim = re.search(r"^payment: settled, cost 1\.6, claim (0x[0-9a-f]{64})$", done.stderr, re.M)
    assert claim, done.stderr
    assert market.escrow_funds(consumer.address) == (int(1.6 * UNIT), 0)
    claimed = int(1.6 * UNIT)
    assert market.paid_to(market.provider_address, claim[1]) == claimed - claimed // 1000

    # A second job: the escrow's 1.6 left is topped up to the price, the authorisation still
    # covers it, and the orders are new (each start spends its own).
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    again = submit_cli(
        consumer, paid_server.url, *_job_args(algorithm, dataset), "--environment", "paid",
        "--rpc", market.chain.rpc, home=tmp_path / "no-home", cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [m["what"] for m in TX.finditer(again.stderr)] == [
        "approve escrow",
        "escrow deposit",
        "startOrder algorithm",
        "startOrder datasets[0]",
    ], again.stderr
    # Without --wait it ends at the job id; the job runs on, is claimed, and leaves 1.6 again.
    with C2DClient(paid_server.url, consumer) as c2d:
        job = wait_settled(c2d, again.stdout.strip())
    assert job["status"] == JobStatus.FINISHED and job["payment"]["cost"] == 1.6, job
    assert market.escrow_funds(consumer.address) == (int(1.6 * UNIT), 0)


def test_what_the_consumer_cannot_pay_is_refused_before_any_transaction(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    algorithm, dataset = _assets(market)
    args = [*_job_args(algorithm, dataset), "--paid", "--rpc", market.chain.rpc]

    def submit(consumer: LocalAccount) -> subprocess.CompletedProcess[str]:
        return submit_cli(consumer, paid_server.url, *args, home=chain_home, cwd=tmp_path)

    no_gas = Account.create()
    assert_refused(submit(no_gas), f"insufficient funds: {no_gas.address} has no native token")

    no_ocean = market.new_consumer(ocean=0)
    assert_refused(
        submit(no_ocean),
        f"insufficient funds: the job costs 3.2 OCEAN; {no_ocean.address} holds 0 OCEAN",
    )
    assert market.escrow_funds(no_ocean.address) == (0, 0)

    no_datatoken = market.new_consumer()
    assert_refused(
        submit(no_datatoken),
        f"insufficient funds: {no_datatoken.address} holds no datatoken "
        f"{algorithm.datatoken} to order the algorithm with",
    )
    assert market.escrow_funds(no_datatoken.address) == (0, 0)


def test_usage_and_provider_refusals_are_one_line(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    consumer = market.new_consumer()
    algorithm, dataset = _assets(market)
    job = _job_args(algorithm, dataset)

    def submit(*argv: str) -> subprocess.CompletedProcess[str]:
        return submit_cli(consumer, paid_server.url, *argv, home=chain_home, cwd=tmp_path)

    chain = market.chain.chain_id
    assert_refused(submit(*job, "--chain-id", "1"), f"is priced on chain(s) {chain}")
    assert_refused(submit(*job, "--environment", "free", "--paid"), "environment free is free only")
    assert_refused(
        submit(*job, "--paid", "--fee-token", "0x" + "1" * 40),
        f"takes on chain {chain}: {market.chain.ocean}",
    )
    # No RPC given and no dev chain in C2D_HOME.
    no_rpc = submit_cli(consumer, paid_server.url, *job, "--paid", home=tmp_path, cwd=tmp_path)
    assert_refused(no_rpc, f"no RPC for chain {chain}: give --rpc URL or set $C2D_RPC_URL")
    # An RPC that is no chain at all.
    assert_refused(submit(*job, "--paid", "--rpc", paid_server.url), f"chain {chain} (")
    # The provider refuses the job itself (initializeCompute): its words, on one line.
    unknown = ["--dataset", "did:op:" + "0" * 64, "--algorithm", algorithm.did, "--paid"]
    refused = submit(*unknown, "--rpc", market.chain.rpc)
    assert_refused(refused, f"{paid_server.url} refused: HTTP 4")
