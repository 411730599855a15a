"""A consumer in Python: a paid compute job on published assets (DIDs), paid through the escrow.

    PROVIDER_URL=http://127.0.0.1:8000 RPC=http://127.0.0.1:8545 CONSUMER_KEY=0x... \\
        ALGO_DID=did:op:... DATASET_DID=did:op:... .venv/bin/python examples/paid_job.py

The consumer needs gas, the fee token (OCEAN on the dev chain) and one datatoken of each asset.
As ocean.js does it: initializeCompute (the price and a provider fee per asset), fund and
authorise the escrow, order each asset, start the job (signed), poll it until it ends, download
its results into ./results-JOBID and read the escrow after the provider claimed its cost. Exit
code 0 only if the job finished (70).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient
from devkit.consumer import (
    ReportingChainClient,
    check_can_pay,
    fund_escrow,
    order_inputs,
    with_orders,
)

ENDED = {2, 31, 32, 41, 42, 61, 62, 70}  # the codes after which a job does not change


def main() -> int:
    consumer = Account.from_key(os.environ["CONSUMER_KEY"])
    with C2DClient(os.environ["PROVIDER_URL"], consumer) as client:
        # The first environment with fees, on its first chain and fee token.
        environment = next(env for env in client.environments() if env["fees"])
        chain_id, fees = next(iter(environment["fees"].items()))
        payment = {"chainId": int(chain_id), "token": fees[0]["feeToken"]}
        body = {
            "environment": environment["id"],
            "algorithm": {"documentId": os.environ["ALGO_DID"]},
            "datasets": [{"documentId": os.environ["DATASET_DID"]}],
            "maxJobDuration": 120,
            "resources": [{"id": "cpu", "amount": 1}, {"id": "ram", "amount": 1}],
        }
        init = client.initialize_compute(body, payment)
        print(f"price: {int(init['payment']['amount']) / 10**18} tokens on chain {chain_id}")

        chain = ReportingChainClient(os.environ["RPC"], print)  # prints each transaction
        check_can_pay(chain, consumer.address, init)  # before any transaction
        fund_escrow(chain, consumer, init)  # approve, deposit, authorize (as far as needed)
        orders = order_inputs(chain, consumer, init)  # startOrder per asset
        job = client.paid_compute(with_orders(body, orders), payment)
        print(f"job {job['jobId']} started on {environment['id']}")

        while job["status"] not in ENDED:  # 71 (settling) comes before 70
            time.sleep(0.5)
            job = client.status(job["jobId"])
        print(f"job ended: {job['status']} {job['statusText']} {job['statusReason']}".rstrip())
        folder = Path(f"results-{job['jobId']}")
        folder.mkdir(exist_ok=True)
        for result in job["results"]:
            target = folder / Path(result["filename"]).name
            target.write_bytes(client.result(job["jobId"], result["index"]))
            print(f"downloaded {target} ({target.stat().st_size} bytes)")

        escrow = chain.contract("Escrow", init["payment"]["escrowAddress"])
        available, locked = escrow.functions.getUserFunds(consumer.address, payment["token"]).call()
        print(f"escrow after the claim: {available} available, {locked} locked (wei)")
    return 0 if job["status"] == 70 else 1


if __name__ == "__main__":
    sys.exit(main())
