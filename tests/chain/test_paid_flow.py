"""The whole paid flow on anvil: publish, order, initialise, start, finish, settle."""

from __future__ import annotations

import io
import json
import tarfile
import time

from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.publish import AssetDraft
from tests.chain.market import UNIT, Market, job_body, wait_settled
from workflows.status import JobStatus


def test_paid_job_is_claimed_and_the_rest_released(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    body = job_body(algorithm, [dataset], duration=120)

    init = market.initialize(buyer, body)
    assert init.status_code == 200, init.text
    payment = init.json()["payment"]
    # cpu 1 + ram 0.5 + disk 0.1 per minute, for the 2 minutes of maxJobDuration.
    assert payment["amount"] == str(32 * UNIT // 10)  # wei, as a string
    assert payment["payee"] == market.provider_address
    assert payment["escrowAddress"] == market.chain.escrow
    market.fund_escrow(buyer, deposit=10, authorize=10)

    started = market.ordered_start(buyer, body, [algorithm, dataset])
    assert started.status_code == 200, started.text
    job_id = started.json()[0]["jobId"]
    assert market.escrow_funds(buyer.address) == (int(6.8 * UNIT), int(3.2 * UNIT))

    with C2DClient(market.provider_url, buyer) as c2d:
        job = wait_settled(c2d, job_id)
        assert job["status"] == JobStatus.FINISHED, job
        output = next(r for r in job["results"] if r["type"] == "output")
        stats = _stats(c2d.result(job_id, output["index"]))
        c2d.login()  # the owner's full view carries the payment block
        payment = c2d.status(job_id)["payment"]
    assert next(iter(stats.values()))["temperature"]["count"] == 30

    # One started minute of cpu+ram+disk was claimed; the rest went back to the buyer.
    claimed = int(1.6 * UNIT)
    available, locked = market.escrow_funds(buyer.address)
    assert (available, locked) == (10 * UNIT - claimed, 0)
    assert payment["cost"] == 1.6 and payment["claimTx"] and payment["state"] == "settled"
    # The claim paid the provider's wallet, less the 0.1 % OPC fee. (Read from the claim's own
    # transfers: other tests' jobs may settle with this provider meanwhile.)
    opc_fee = claimed // 1000
    assert market.paid_to(market.provider_address, payment["claimTx"]) == claimed - opc_fee


def test_job_failing_before_its_algorithm_releases_the_lock(
    market: Market, buyer: LocalAccount
) -> None:
    algorithm = market.algorithm()
    files = [{"type": "url", "url": market.files.url("missing.csv"), "method": "GET"}]
    draft = AssetDraft(name="gone", type="dataset", files=files, compute=market.trusting(algorithm))
    dataset = market.publish(draft)
    market.fund_escrow(buyer, deposit=10, authorize=10)
    started = market.ordered_start(buyer, job_body(algorithm, [dataset]), [algorithm, dataset])
    assert started.status_code == 200, started.text
    job_id = started.json()[0]["jobId"]
    with C2DClient(market.provider_url, buyer) as c2d:
        job = wait_settled(c2d, job_id)
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED, job
    wait_unlocked(market, buyer.address)
    assert market.escrow_funds(buyer.address) == (10 * UNIT, 0)
    with C2DClient(market.provider_url, buyer) as c2d:
        c2d.login()
        payment = c2d.status(job_id)["payment"]
    assert payment["cost"] == 0 and payment["claimTx"] is None and payment["cancelTx"]
    assert market.paid_to(market.provider_address, payment["cancelTx"]) == 0


def wait_unlocked(market: Market, payer: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while market.escrow_funds(payer)[1] and time.monotonic() < deadline:
        time.sleep(0.1)


def _stats(archive_bytes: bytes) -> dict[str, dict[str, dict[str, float]]]:
    with tarfile.open(fileobj=io.BytesIO(archive_bytes)) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("stats.json"))
        handle = archive.extractfile(member)
        assert handle is not None
        return dict(json.loads(handle.read()))
