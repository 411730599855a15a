"""Figures 4 and 5: configure fetching a large file over loopback HTTP, downloading a large
``outputs.tar`` through computeResult; baselines ``curl | sha256sum`` and reading from disk."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from eth_account import Account

from bench.figures import Figure
from bench.service import Bench, free_start_body, wait_final
from provider.client import sign_request
from provider.demo.files import FileServer
from steps.paths import PATH_MAP_ENV
from steps.readers.guard import SOURCE_NETWORKS_ENV
from workflows import contract
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = ["measure_configure", "measure_results"]

_MIB = 2**20
_CHUNK = _MIB


def _write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(_CHUNK)
    with path.open("wb") as handle:
        for _ in range(size // _CHUNK):
            handle.write(block)
            digest.update(block)
    return digest.hexdigest()


def _configure_once(work: Path, url: str, checksum: str, size: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one ``python -m steps.configure`` run."""
    spec = JobSpec.model_validate(
        {
            "job_id": os.urandom(16).hex(),
            "owner": "0x" + "ab" * 20,
            "environment": "free",
            "created_at": int(time.time()),
            "inputs": [{"folder": "0", "files": [{"url": url, "checksum": checksum}]}],
            "algorithm": {
                "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"},
                "rawcode": "print(1)\n",
            },
            "limits": {
                "cpus": 1,
                "memory_bytes": 2**30,
                "disk_bytes": size * 2,
                "max_job_duration": 60,
                "max_download_bytes": size * 2,
            },
        }
    )
    job = work / spec.job_id
    folders = {
        contract.DATA: job / "data",
        contract.SPEC_DIR: job / "spec",
        contract.ADMIN_LOGS: job / "admin",
        contract.RESULTS: job / "results",
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    (folders[contract.SPEC_DIR] / Path(contract.SPEC_FILE).name).write_text(spec.model_dump_json())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        PATH_MAP_ENV: json.dumps({k: str(v) for k, v in folders.items()}),
        SOURCE_NETWORKS_ENV: "127.0.0.0/8",
    }
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "steps.configure"], env=env, cwd="/")
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        log = (folders[contract.ADMIN_LOGS] / "configure.log").read_text(errors="replace")
        raise RuntimeError(f"configure failed ({process.returncode}): {log[-500:]}")
    subprocess.run(["rm", "-rf", str(job)], check=True)
    return elapsed, usage.ru_maxrss / 1024


def _curl_seconds(url: str) -> float:
    started = time.perf_counter()
    pipeline = f"curl -s {url} | sha256sum"
    subprocess.run(pipeline, shell=True, check=True, capture_output=True)  # noqa: S602
    return time.perf_counter() - started


def measure_configure(work: Path, sizes: list[tuple[str, int]]) -> list[Figure]:
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    server = FileServer(files)
    figures: list[Figure] = []
    try:
        for label, size in sizes:
            checksum = _write_file(files / f"{label}.bin", size)
            url = server.url(f"{label}.bin")
            _curl_seconds(url)  # page cache warm for both
            curl = _curl_seconds(url)
            seconds, rss = _configure_once(work, url, checksum, size)
            suffix = "" if label == sizes[-1][0] else f"_{label}"
            figures.append(
                Figure(
                    f"configure_throughput_ratio{suffix}",
                    size / seconds / _MIB,
                    "MiB/s",
                    size / curl / _MIB,
                    f"ratio >= 0.7 ({label}; baseline: curl | sha256sum)",
                )
            )
            figures.append(
                Figure(f"configure_peak_rss_mb{suffix}", rss, "MB", None, f"<= 150 ({label})")
            )
            (files / f"{label}.bin").unlink()
    finally:
        server.close()
    return figures


def measure_results(bench: Bench, home: Path, size: int, label: str) -> list[Figure]:
    account = Account.create()
    code = (
        "import os\nblock = os.urandom(1 << 20)\n"
        "with open('/data/outputs/big.bin', 'wb') as out:\n"
        f"    for _ in range({size // _MIB}):\n        out.write(block)\n"
    )
    body = free_start_body(code, account=account)
    body["resources"] = [{"id": "disk", "amount": max(1, 3 * size // 2**30)}]
    job = bench.start(body)
    final = wait_final(bench, account.address, job["jobId"])
    if final["status"] != JobStatus.FINISHED:
        raise RuntimeError(f"the {label} output job ended with {final['status']}")
    output = next(r for r in final["results"] if r["type"] == "output")
    path = home / "results" / job["jobId"] / output["filename"]
    params = {
        "consumerAddress": account.address,
        "jobId": job["jobId"],
        "index": str(output["index"]),
        "nonce": "2",
        "signature": sign_request(account, 2, "getComputeResult"),
    }
    # curl as the client (as for configure): the figure is what the provider delivers, not how
    # fast a Python HTTP client parses (httpx tops out near 450 MiB/s on loopback).
    url = str(bench.http.build_request("GET", "/api/services/computeResult", params=params).url)
    started = time.perf_counter()
    done = subprocess.run(
        ["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    download = time.perf_counter() - started
    received = int(done.stdout.strip() or 0)
    if received != path.stat().st_size:
        raise RuntimeError(f"downloaded {received} bytes of {path.stat().st_size}")
    started = time.perf_counter()
    with path.open("rb") as handle:
        while handle.read(_CHUNK):
            pass
    disk = time.perf_counter() - started
    return [
        Figure(
            "result_download_ratio",
            received / download / _MIB,
            "MiB/s",
            received / disk / _MIB,
            f"ratio >= 0.5 ({label} outputs.tar by curl; baseline: read from disk)",
        )
    ]
