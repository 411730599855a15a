"""publishResults on anvil: a paid job's outputs become an asset the consumer owns, which
ocean.js orders and downloads byte for byte, or runs a second compute job on (paid, and free);
and the requests that are refused."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from devkit.publish import AssetDraft, Published, mint_datatokens
from provider.assets.results import KEPT_FILE_TYPE
from provider.chain.files import DevChain
from tests.chain.cli import doc_block, run_doc_block
from tests.chain.conftest import SERVER_ENV
from tests.chain.market import CONTAINER, UNIT, Market, job_body, wait_settled
from tests.e2e.oceanjs import run_oceanjs
from workflows.status import JobStatus

ASKED = {
    "name": "weather statistics",
    "description": "stats.py over the weather table",
    "tags": ["weather", "derived"],
}
# The second job's algorithm: reads the first job's outputs.tar from its input and writes, per
# member of it, its sha256 and size, and the statistics it holds.
DERIVE_CODE = """\
import hashlib, json, os, tarfile
from pathlib import Path

inputs = Path(os.environ["INPUTS"])
members, stats = {}, None
for path in sorted(p for p in inputs.rglob("*") if p.is_file() and p.name != "algoCustomData.json"):
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if member.isfile():
                data = archive.extractfile(member).read()
                members[member.name] = [hashlib.sha256(data).hexdigest(), len(data)]
                if Path(member.name).name == "stats.json":
                    stats = json.loads(data)
derived = {"members": members, "stats": stats}
Path(os.environ["OUTPUTS"], "derived.json").write_text(json.dumps(derived))
"""


def test_outputs_become_an_asset_the_consumer_owns_orders_and_downloads(
    market: Market, buyer: LocalAccount, paid_server: ServerProcess, chain_home: Path
) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    job_id, job, outputs = _published_job(market, buyer, algorithm, dataset, ASKED)
    published = job["publishedAsset"]
    entry = next(r for r in job["results"] if r["type"] == "asset")
    assert entry == {"type": "asset", "did": published["did"], "chainId": market.chain.chain_id}

    # The DDO on chain, as this provider's index serves it: the consumer's metadata, the
    # provenance, served by this provider.
    answer = httpx.get(f"{paid_server.url}/api/aquarius/assets/ddo/{published['did']}", timeout=60)
    assert answer.status_code == 200, answer.text
    ddo = answer.json()
    nft = market.client.contract("ERC721Template", published["nftAddress"])
    raw = _metadata(nft)
    assert raw["name"] == ASKED["name"] and raw["description"] == ASKED["description"]
    assert raw["tags"] == ASKED["tags"]
    provenance = raw["additionalInformation"]["c2dProvenance"]
    assert provenance["jobId"] == job_id
    assert provenance["inputDIDs"] == [dataset.did]
    assert provenance["algorithmDID"] == algorithm.did
    service = ddo["services"][0]
    assert service["type"] == "access" and service["serviceEndpoint"] == paid_server.url
    assert isinstance(service["files"], str)  # encrypted for the provider
    # The consumer owns the NFT.
    assert nft.functions.ownerOf(1).call() == buyer.address

    # ocean.js orders its access service (with the datatoken the provider gave the owner) and
    # downloads the very outputs.tar the job wrote, then its last 100 bytes.
    summary = run_oceanjs(
        "oceanjs_access.mjs",
        {
            "PROVIDER_URL": paid_server.url,
            "RPC": market.chain.rpc,
            "ADDRESS_FILE": str(chain_home / "chain" / "addresses.json"),
            "CONSUMER_KEY": "0x" + bytes(buyer.key).hex(),
            "DID": published["did"],
            "SERVICE_ID": service["id"],
            "DATATOKEN": published["datatokenAddress"],
            "RANGE": "bytes=-100",
        },
    )
    assert summary["ok"] is True, summary
    assert summary["sha256"] == hashlib.sha256(outputs).hexdigest()
    assert summary["bytes"] == len(outputs)
    assert summary["fileInfo"]["contentLength"] == str(len(outputs))
    assert summary["fileInfo"]["checksum"] == "sha256:" + hashlib.sha256(outputs).hexdigest()
    size = len(outputs)
    assert summary["ranged"]["status"] == 206
    assert summary["ranged"]["contentRange"] == f"bytes {size - 100}-{size - 1}/{size}"

    # Anyone can encrypt a file object for this provider: one naming this job, inside another
    # asset, serves nothing.
    forged = market.publish(
        AssetDraft(
            name="not mine",
            type="dataset",
            files=[{"type": KEPT_FILE_TYPE, "jobId": job_id}],
            service_type="access",
        )
    )
    answer = httpx.get(
        f"{paid_server.url}/api/services/initialize",
        params={
            "documentId": forged.did,
            "serviceId": forged.ddo["services"][0]["id"],
            "consumerAddress": buyer.address,
            "fileIndex": 0,
        },
    )
    assert answer.status_code == 400, answer.text
    assert "names no outputs this asset may serve" in answer.json()["error"]


def test_lifecycle_publish_download_then_derived_jobs_paid_and_free(
    market: Market, buyer: LocalAccount, paid_server: ServerProcess, chain_home: Path
) -> None:
    (market.files.folder / "derive.py").write_text(DERIVE_CODE)  # type: ignore[attr-defined]
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    derive = market.algorithm("derive.py")
    policy = market.trusting(derive, "derive.py")
    asked = {**ASKED, "services": ["access", "compute"], "compute": policy}
    job_id, job, outputs = _published_job(market, buyer, algorithm, dataset, asked)
    published = job["publishedAsset"]

    # The new DID resolves: an access and a compute service, in the order asked, one datatoken,
    # the policy given, the file encrypted for this provider.
    answer = httpx.get(f"{paid_server.url}/api/aquarius/assets/ddo/{published['did']}", timeout=60)
    assert answer.status_code == 200, answer.text
    access, compute = answer.json()["services"]
    assert (access["type"], compute["type"]) == ("access", "compute")
    assert (
        access["datatokenAddress"] == compute["datatokenAddress"] == published["datatokenAddress"]
    )
    assert compute["serviceEndpoint"] == paid_server.url and isinstance(compute["files"], str)
    assert "compute" not in access
    assert compute["compute"]["publisherTrustedAlgorithms"] == policy["publisherTrustedAlgorithms"]
    expected = _derived(outputs)
    assert expected["stats"] is not None  # the first job's stats.json is in its outputs
    oceanjs_env = {
        "PROVIDER_URL": paid_server.url,
        "RPC": market.chain.rpc,
        "ADDRESS_FILE": str(chain_home / "chain" / "addresses.json"),
        "CONSUMER_KEY": "0x" + bytes(buyer.key).hex(),
    }

    # Download: ocean.js orders the access service with the one datatoken the provider gave
    # the owner, and gets the very outputs.tar.
    downloaded = run_oceanjs(
        "oceanjs_access.mjs",
        {
            **oceanjs_env,
            "DID": published["did"],
            "SERVICE_ID": access["id"],
            "DATATOKEN": published["datatokenAddress"],
        },
    )
    assert downloaded["sha256"] == hashlib.sha256(outputs).hexdigest(), downloaded

    # As the NFT's owner they may mint more of its datatoken (the NFT transfer made them its
    # ERC20 deployer): one more, for the compute order.
    token = market.client.contract("ERC20Template", published["datatokenAddress"])
    market.client.transact(buyer, token.functions.addMinter(buyer.address), "addMinter")
    market.client.transact(buyer, token.functions.mint(buyer.address, UNIT), "mint")

    # Derived: a second, paid job on the new asset, as a marketplace runs it with ocean.js; it
    # orders the compute service (index 1).
    market.give_datatokens(derive, buyer.address, 1)
    summary = run_oceanjs(
        "oceanjs_paid.mjs",
        {
            **oceanjs_env,
            "ALGO_DID": derive.did,
            "ALGO_SERVICE_ID": derive.ddo["services"][0]["id"],
            "ALGO_DATATOKEN": derive.datatoken,
            "DATASET_DID": published["did"],
            "DATASET_SERVICE_ID": compute["id"],
            "DATASET_DATATOKEN": published["datatokenAddress"],
            "DATASET_SERVICE_INDEX": "1",
            "KEEP_RESULT": "1",
        },
    )
    assert summary["ok"] is True, summary
    assert _derived_result(base64.b64decode(summary["resultBase64"])) == expected

    # The same asset as a free job's dataset (free jobs order nothing).
    with C2DClient(market.provider_url, buyer) as c2d:
        free = c2d.free_compute(
            {
                "environment": "free",
                "algorithm": {
                    "documentId": derive.did,
                    "serviceId": derive.ddo["services"][0]["id"],
                },
                "datasets": [{"documentId": published["did"], "serviceId": compute["id"]}],
            }
        )
        done = wait_settled(c2d, free["jobId"])
        assert done["status"] == JobStatus.FINISHED, done
        result = next(r for r in done["results"] if r["type"] == "output")
        assert _derived_result(c2d.result(free["jobId"], result["index"])) == expected

    # The header the free job fetched the outputs with opens nothing once that job has ended,
    # and no header, or a made-up one, never does.
    spec = _job_spec(chain_home, free["jobId"])
    fetched = spec["inputs"][0]["files"][0]
    assert fetched["url"] == f"{paid_server.url}/api/services/keptInput/{job_id}"
    header = fetched["headers"]["X-C2D-Kept-Input"]
    for headers, why in [
        ({"X-C2D-Kept-Input": header}, "has ended"),
        ({}, "opens no kept outputs"),
        ({"X-C2D-Kept-Input": free["jobId"] + "." + "0" * 64}, "opens no kept outputs"),
    ]:
        answer = httpx.get(fetched["url"], headers=headers, timeout=60)
        assert answer.status_code == 403, answer.text
        assert why in answer.json()["error"]


def test_the_lifecycle_from_the_cli_as_payments_md_runs_it(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    (market.files.folder / "derive.py").write_text(DERIVE_CODE)  # type: ignore[attr-defined]
    consumer = market.new_consumer()
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    # The consumer's own algorithm: the default policy of their asset's compute service.
    files = [{"type": "url", "url": market.files.url("derive.py"), "method": "GET"}]
    draft = AssetDraft(name="derive", type="algorithm", files=files, container=dict(CONTAINER))
    derive = market.publish(draft, publisher=consumer)
    mint_datatokens(market.client, consumer, derive.datatoken, consumer.address, UNIT)

    (tmp_path / "consumer.key").write_text(consumer.key.hex())
    env = {
        "C2D_PROVIDER_URL": paid_server.url,
        "ALGO_DID": algorithm.did,
        "DATASET_DID": dataset.did,
        "DERIVE_DID": derive.did,
    }
    code = doc_block("docs/payments.md", "--publish-results")
    done = run_doc_block(code, env, home=chain_home, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = (tmp_path / "first.txt").read_text().splitlines()
    did = printed[-1].removeprefix("asset: ")
    assert printed[-1].startswith("asset: did:op:"), printed

    answer = httpx.get(f"{paid_server.url}/api/aquarius/assets/ddo/{did}", timeout=60)
    assert answer.status_code == 200, answer.text
    compute, access = answer.json()["services"]
    assert (compute["type"], access["type"]) == ("compute", "access")
    assert compute["compute"] == {"publisherTrustedAlgorithmPublishers": [consumer.address]}
    outputs = (tmp_path / "first-results" / "outputs.tar").read_bytes()
    derived = (tmp_path / "derived-results" / "outputs.tar").read_bytes()
    assert _derived_result(derived) == _derived(outputs)


def test_free_job_asking_for_publication_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    with C2DClient(market.provider_url, buyer) as c2d:
        signed = c2d.signed("freeStartCompute")
    body = {
        "environment": "free",
        "consumerAddress": buyer.address,
        **signed,
        "algorithm": {"documentId": algorithm.did, "serviceId": algorithm.ddo["services"][0]["id"]},
        "publishResults": ASKED,
    }
    answer = httpx.post(f"{market.provider_url}/api/services/freeCompute", json=body, timeout=60)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("publishResults: a free job's results are not")


# Out of range: 400; missing or of the wrong type: 422 (the API's rule, docs/api.md).
@pytest.mark.parametrize(
    ("asked", "status", "problem"),
    [
        ({}, 422, "publishResults.name: Field required"),
        ({"name": ""}, 400, "publishResults.name"),
        ({"name": "x", "price": 3}, 400, "unknown field 'price'"),
        ({"name": "x", "tags": ["a"] * 17}, 400, "publishResults.tags"),
        ("outputs please", 422, "publishResults"),
        (
            {"name": "x", "services": ["access", "download"]},
            400,
            "publishResults.services: 'download' is no service a result is published with",
        ),
        ({"name": "x", "services": []}, 400, "publishResults.services: name at least one"),
        ({"name": "x", "services": ["compute", "compute"]}, 400, "each service at most once"),
        ({"name": "x", "compute": {}}, 400, 'add "compute" to publishResults.services'),
        (
            {"name": "x", "services": ["compute"], "compute": {"allowAll": True}},
            400,
            "unknown field 'allowAll'",
        ),
    ],
)
def test_bad_publish_results_is_refused_with_the_field_named(
    market: Market, buyer: LocalAccount, asked: Any, status: int, problem: str
) -> None:
    body = {**job_body(market.algorithm(), []), "publishResults": asked}
    answer = market.start(buyer, body)
    assert answer.status_code == status, answer.text
    assert problem in answer.json()["error"]


def test_provider_without_a_public_url_refuses_publication(
    market: Market, dev_chain: DevChain, chain_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "chain").mkdir(parents=True)
    for name in ("addresses.json", "accounts.json"):
        shutil.copy(chain_home / "chain" / name, home / "chain" / name)
    server = start_server(home, env={**SERVER_ENV, "C2D_PUBLIC_URL": ""})
    try:
        with Market(market.client, dev_chain, server.url, market.publisher) as other:
            body = {**job_body(market.algorithm(), []), "publishResults": ASKED}
            answer = other.initialize(market.new_consumer(), body)
    finally:
        server.stop()
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith(
        "publishResults: this provider publishes no results as assets"
    )


def _published_job(
    market: Market,
    buyer: LocalAccount,
    algorithm: Published,
    dataset: Published,
    asked: dict[str, Any],
) -> tuple[str, dict[str, Any], bytes]:
    """A paid job of ``algorithm`` on ``dataset`` asking ``publishResults: asked``, once its
    outputs are published: its id, its full status, its outputs.tar."""
    body = {**job_body(algorithm, [dataset], duration=120), "publishResults": asked}
    market.fund_escrow(buyer, deposit=10, authorize=10)
    started = market.ordered_start(buyer, body, [algorithm, dataset])
    assert started.status_code == 200, started.text
    job_id: str = started.json()[0]["jobId"]
    with C2DClient(market.provider_url, buyer) as c2d:
        job = wait_settled(c2d, job_id)
        assert job["status"] == JobStatus.FINISHED, job
        job = _wait_published(c2d, job_id)
        output = next(r for r in job["results"] if r["type"] == "output")
        outputs = c2d.result(job_id, output["index"])
    assert job["publishedAsset"]["state"] == "published", job["publishedAsset"]
    return job_id, job, outputs


def _wait_published(c2d: C2DClient, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = c2d.status(job_id)
        if job.get("publishedAsset", {}).get("state") != "waiting":
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not published after {timeout} s: {job}")


def _derived(outputs: bytes) -> dict[str, Any]:
    """What DERIVE_CODE writes for ``outputs`` (the first job's outputs.tar), computed here."""
    members: dict[str, Any] = {}
    stats = None
    with tarfile.open(fileobj=io.BytesIO(outputs)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                data = handle.read()
                members[member.name] = [hashlib.sha256(data).hexdigest(), len(data)]
                if Path(member.name).name == "stats.json":
                    stats = json.loads(data)
    return {"members": members, "stats": stats}


def _derived_result(archive: bytes) -> dict[str, Any]:
    """derived.json out of the second job's outputs.tar."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        name = next(n for n in tar.getnames() if Path(n).name == "derived.json")
        handle = tar.extractfile(name)
        assert handle is not None
        derived: dict[str, Any] = json.loads(handle.read())
        return derived


def _job_spec(home: Path, job_id: str) -> dict[str, Any]:
    """The spec the provider stored for ``job_id`` (its engine's state: only the provider,
    and this test running as it, may read it)."""
    with contextlib.closing(sqlite3.connect(home / "state" / "jobs.sqlite")) as db:
        row = db.execute("SELECT spec FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    spec: dict[str, Any] = json.loads(row[0])
    return spec


def _metadata(nft: Contract) -> dict[str, Any]:
    """The DDO's metadata as set on chain (plain: flags 0), every field of it."""
    event = nft.events.MetadataCreated().get_logs(from_block=0)[-1]
    metadata: dict[str, Any] = json.loads(event["args"]["data"])["metadata"]
    return metadata
