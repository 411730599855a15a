"""A consumer in Python: a free compute job on raw data with raw algorithm code.

    PROVIDER_URL=http://127.0.0.1:8000 CONSUMER_KEY=0x... DATASET_URL=https://.../data.csv \\
        .venv/bin/python examples/free_job.py

Starts the job (a signed request), polls its status until it ends, downloads every result file
into ./results-JOBID and prints the algorithm's log. Exit code 0 only if the job finished (70).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient

# Counts the rows of every input file and writes the counts as the job's output.
ALGORITHM = """\
import json, os, pathlib
inputs = pathlib.Path(os.environ["INPUTS"])
counts = {str(p.relative_to(inputs)): len(p.read_bytes().splitlines())
          for p in sorted(inputs.rglob("*")) if p.is_file() and p.name != "algoCustomData.json"}
pathlib.Path(os.environ["OUTPUTS"], "counts.json").write_text(json.dumps(counts))
print("counted", counts)
"""
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11"}
ENDED = {2, 31, 32, 41, 42, 61, 62, 70}  # the codes after which a job does not change


def main() -> int:
    consumer = Account.from_key(os.environ["CONSUMER_KEY"])
    with C2DClient(os.environ["PROVIDER_URL"], consumer) as client:
        environment = client.environments()[0]["id"]
        job = client.free_compute(
            {
                "environment": environment,
                "datasets": [{"fileObject": {"type": "url", "url": os.environ["DATASET_URL"]}}],
                "algorithm": {"meta": {"rawcode": ALGORITHM, "container": CONTAINER}},
            }
        )
        print(f"job {job['jobId']} started on {environment}")
        while job["status"] not in ENDED:
            time.sleep(0.5)
            job = client.status(job["jobId"])
        print(f"job ended: {job['status']} {job['statusText']} {job['statusReason']}".rstrip())
        folder = Path(f"results-{job['jobId']}")
        folder.mkdir(exist_ok=True)
        for result in job["results"]:
            target = folder / Path(result["filename"]).name
            target.write_bytes(client.result(job["jobId"], result["index"]))
            print(f"downloaded {target} ({target.stat().st_size} bytes)")
        log = folder / "algorithm.log"
        if log.exists():
            print(log.read_text(), end="")
    return 0 if job["status"] == 70 else 1


if __name__ == "__main__":
    sys.exit(main())
