"""ocean.js (@oceanprotocol/lib 8.0.0) starts jobs on datasets of every storage type: s3
(ministack, SigV4 checked), ftp (pyftpdlib), ipfs and arweave (the operator's gateway on
loopback); each algorithm gets the file's bytes."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.e2e.conftest import result_of_type, wait_for
from tests.e2e.oceanjs import run_oceanjs
from tests.e2e.test_input_storage import CID, COPIES_INPUT, TXID
from tests.storage_servers import FtpServer, S3Server
from workflows.status import JobStatus

CONTENT = b"station,rain\nBremen,3\n" * 200


def test_oceanjs_datasets_of_every_storage_type(
    server: ServerProcess, s3: S3Server, ftp: FtpServer, files_dir: Path
) -> None:
    s3.s3.create_bucket(Bucket="oceanjs-in")
    s3.s3.put_object(Bucket="oceanjs-in", Key="rain.csv", Body=CONTENT)
    (ftp.root / "oceanjs-rain.csv").write_bytes(CONTENT)
    (files_dir / "ipfs" / CID).write_bytes(CONTENT)
    (files_dir / TXID).write_bytes(CONTENT)
    datasets = {
        "s3": {
            "type": "s3",
            "s3Access": s3.access("oceanjs-in", "rain.csv"),
            "checksum": hashlib.sha256(CONTENT).hexdigest(),
        },
        "ftp": {"type": "ftp", "url": ftp.url("oceanjs-rain.csv")},
        "ipfs": {"type": "ipfs", "hash": CID},
        "arweave": {"type": "arweave", "transactionId": TXID},
    }
    consumer = Account.create()
    summary = run_oceanjs(
        "oceanjs_inputs.mjs",
        {
            "PROVIDER_URL": server.url,
            "CONSUMER_KEY": "0x" + bytes(consumer.key).hex(),
            "DATASETS": json.dumps(datasets),
            "ALGORITHM_CODE": COPIES_INPUT,
        },
    )
    assert set(summary["jobs"]) == set(datasets)
    with C2DClient(server.url, consumer) as client:
        for name, job_id in summary["jobs"].items():
            job = wait_for(client, job_id, timeout=120)
            assert job["status"] == JobStatus.FINISHED, (name, job["statusReason"])
            archive = client.result(job_id, result_of_type(job, "output")["index"])
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                member = tar.extractfile("got")
                assert member is not None
                assert member.read() == CONTENT, name
