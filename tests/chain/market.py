"""A consumer's and publisher's tools in one helper: publish, order, fund escrow, start jobs."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.artifacts import contract
from devkit.client import C2DClient
from devkit.consumer import authorize_escrow, deposit_escrow, start_order, with_orders
from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.provider_link import ProviderLink
from devkit.publish import AssetDraft, Published, mint_datatokens, publish_asset
from provider.assets.ddo import Container, container_section_checksum
from provider.chain.client import ChainClient
from provider.chain.files import DevChain
from tests.e2e.oceanjs import run_oceanjs
from workflows.status import FAILED_STATUSES, JobStatus

CONTAINER = dict(assets.CONTAINER, checksum="sha256:" + "ab" * 32)
UNIT = 10**18


class Market:
    def __init__(
        self, client: ChainClient, chain: DevChain, provider_url: str, publisher: LocalAccount
    ) -> None:
        self.client = client
        self.chain = chain
        self.provider_url = provider_url
        self.publisher = publisher
        self.link = ProviderLink(provider_url, publisher, chain_id=chain.chain_id)
        self.provider_address = self.link.address
        self.files: FileServer
        self._funder = Account.from_key(chain.accounts[2].private_key)

    def __enter__(self) -> Market:
        return self

    def __exit__(self, *_: object) -> None:
        self.link.close()

    # --- publisher ---------------------------------------------------------------------------
    def publish(self, draft: AssetDraft, publisher: LocalAccount | None = None) -> Published:
        who = publisher or self.publisher
        link = (
            self.link
            if publisher is None
            else ProviderLink(self.provider_url, who, chain_id=self.chain.chain_id)
        )
        return publish_asset(
            self.client,
            self.chain,
            who,
            draft,
            provider_url=self.provider_url,
            provider_address=self.provider_address,
            encrypt=link.encrypt,
        )

    def algorithm(self, name: str = "stats.py", **changes: Any) -> Published:
        files = [{"type": "url", "url": self.files.url(name), "method": "GET"}]
        draft = AssetDraft(
            name=f"algorithm {name}",
            type="algorithm",
            files=files,
            container=dict(CONTAINER),
            **changes,
        )
        return self.publish(draft)

    def dataset(self, compute: dict[str, Any] | None, **changes: Any) -> Published:
        files = [{"type": "url", "url": self.files.url("weather.csv"), "method": "GET"}]
        draft = AssetDraft(name="weather", type="dataset", files=files, compute=compute, **changes)
        return self.publish(draft)

    def trusting(self, algorithm: Published, name: str = "stats.py") -> dict[str, Any]:
        """A compute policy trusting ``algorithm`` pinned by files and container checksums."""
        code = (self.files.folder / name).read_bytes()  # type: ignore[attr-defined]
        return {
            "publisherTrustedAlgorithms": [
                {
                    "did": algorithm.did,
                    "filesChecksum": hashlib.sha256(code).hexdigest(),
                    "containerSectionChecksum": container_section_checksum(Container(**CONTAINER)),
                }
            ]
        }

    # --- consumer ----------------------------------------------------------------------------
    def new_consumer(self, ocean: int = 1000) -> LocalAccount:
        account: LocalAccount = Account.create()
        w3 = self.client.w3
        tx = {
            "to": account.address,
            "value": 10**18,
            "from": self._funder.address,
            "nonce": w3.eth.get_transaction_count(self._funder.address, "pending"),
            "chainId": self.chain.chain_id,
            "gas": 21000,
            "gasPrice": w3.eth.gas_price,
        }
        signed = self._funder.sign_transaction(tx)
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        token = contract(self.client, "OceanToken", self.chain.ocean)
        self.client.transact(
            self._funder, token.functions.transfer(account.address, ocean * UNIT), "fund"
        )
        return account

    def give_datatokens(self, asset: Published, to: str, amount: int = 5) -> None:
        mint_datatokens(self.client, self.publisher, asset.datatoken, to, amount * UNIT)

    def fund_escrow(
        self, consumer: LocalAccount, *, deposit: float, authorize: float, seconds: int = 7200
    ) -> None:
        if deposit:
            deposit_escrow(
                self.client, consumer, self.chain.escrow, self.chain.ocean, int(deposit * UNIT)
            )
        if authorize:
            authorize_escrow(
                self.client,
                consumer,
                self.chain.escrow,
                self.chain.ocean,
                self.provider_address,
                max_locked=int(authorize * UNIT),
                max_seconds=seconds,
                max_counts=10,
            )

    def order(self, consumer: LocalAccount, asset: Published, init: dict[str, Any]) -> str:
        """Order ``asset`` with the provider fee initializeCompute gave for it."""
        return start_order(
            self.client,
            consumer,
            asset.datatoken,
            consumer=init["consumerAddress"],
            service_index=0,
            provider_fee=init["providerFee"],
        )

    def initialize(self, consumer: LocalAccount, body: dict[str, Any]) -> httpx.Response:
        payload = {
            **body,
            "consumerAddress": consumer.address,
            "payment": {"chainId": self.chain.chain_id, "token": self.chain.ocean},
        }
        return httpx.post(f"{self.provider_url}/api/services/initializeCompute", json=payload)

    def start(self, consumer: LocalAccount, body: dict[str, Any]) -> httpx.Response:
        with C2DClient(self.provider_url, consumer) as c2d:
            signed = c2d.signed("startCompute")
        payload = {
            **body,
            "consumerAddress": consumer.address,
            **signed,
            "payment": {"chainId": self.chain.chain_id, "token": self.chain.ocean},
        }
        return httpx.post(f"{self.provider_url}/api/services/compute", json=payload, timeout=60)

    def ordered_start(
        self,
        consumer: LocalAccount,
        body: dict[str, Any],
        assets_in_order: list[Published],
        *,
        tweak: Any = None,
    ) -> httpx.Response:
        """initializeCompute, order each DID input with its fee, then computeStart."""
        init = self.initialize(consumer, body)
        assert init.status_code == 200, init.text
        answer = init.json()
        entries = [("algorithm", answer["algorithm"])]
        entries += [(f"datasets[{i}]", entry) for i, entry in enumerate(answer["datasets"])]
        orders = {}
        for asset, (label, entry) in zip(
            assets_in_order, [(k, e) for k, e in entries if e], strict=True
        ):
            self.give_datatokens(asset, consumer.address, 1)
            if tweak is not None:
                entry = tweak(entry)
            orders[label] = self.order(consumer, asset, entry)
        body = with_orders(body, orders)
        return self.start(consumer, body)

    def escrow_funds(self, payer: str) -> tuple[int, int]:
        escrow = self.client.contract("Escrow", self.chain.escrow)
        available, locked = escrow.functions.getUserFunds(payer, self.chain.ocean).call()
        return int(available), int(locked)

    def paid_to(self, address: str, tx: str) -> int:
        """OCEAN transferred to ``address`` by transaction ``tx``."""
        token = contract(self.client, "OceanToken", self.chain.ocean)
        receipt = self.client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        transfers = self.client.events(token, "Transfer", receipt)
        return sum(int(t["args"]["value"]) for t in transfers if t["args"]["to"] == address)


def job_body(
    algorithm: Published | dict[str, Any], datasets: list[Any], *, duration: int = 120
) -> dict[str, Any]:
    algo = (
        {"documentId": algorithm.did, "serviceId": algorithm.ddo["services"][0]["id"]}
        if isinstance(algorithm, Published)
        else algorithm
    )
    sets = [
        {"documentId": d.did, "serviceId": d.ddo["services"][0]["id"]}
        if isinstance(d, Published)
        else d
        for d in datasets
    ]
    return {
        "environment": "paid",
        "algorithm": algo,
        "datasets": sets,
        "maxJobDuration": duration,
        "resources": [
            {"id": "cpu", "amount": 1},
            {"id": "ram", "amount": 1},
            {"id": "disk", "amount": 1},
        ],
    }


def wait_settled(client: C2DClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    """The job once it ended and its payment settled (a failed job keeps its failure status
    while it settles, so the payment block says when settlement is done)."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    client.login()
    while time.monotonic() < deadline:
        job = client.status(job_id)
        status = JobStatus(job["status"])
        ended = status == JobStatus.FINISHED or status in FAILED_STATUSES
        payment = job.get("payment")
        if ended and (payment is None or payment["state"] == "settled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout} s")


def oceanjs_paid_job(market: Market, address_file: Path, *, mine_blocks: int = 0) -> dict[str, Any]:
    """A paid job run by the real ocean.js client (tests/e2e/js/oceanjs_paid.mjs) on the chain
    of ``market``, whose deployment ``address_file`` describes; its JSON summary."""
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    consumer = market.new_consumer()
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    return run_oceanjs(
        "oceanjs_paid.mjs",
        {
            "PROVIDER_URL": market.provider_url,
            "RPC": market.chain.rpc,
            "ADDRESS_FILE": str(address_file),
            "CONSUMER_KEY": "0x" + bytes(consumer.key).hex(),
            "ALGO_DID": algorithm.did,
            "ALGO_SERVICE_ID": algorithm.ddo["services"][0]["id"],
            "ALGO_DATATOKEN": algorithm.datatoken,
            "DATASET_DID": dataset.did,
            "DATASET_SERVICE_ID": dataset.ddo["services"][0]["id"],
            "DATASET_DATATOKEN": dataset.datatoken,
            "MINE_BLOCKS": str(mine_blocks),
        },
    )
