"""Registry images: the trivial job in a cached image against the same job on a host runtime,
and a cold pull of a ~100 MiB image from a registry on loopback against ``skopeo copy`` of the
same image (or, without skopeo, a plain HTTP download of the same blobs), in the same run."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import httpx
from eth_account import Account

from bench.figures import Figure, percentile
from bench.jobs import TRIVIAL
from bench.service import Bench, free_start_body, wait_final
from devkit.oci_layouts import python_layout
from devkit.oci_registry import Pusher, layout_blob, registry
from steps.images.cache import ImageCache
from steps.images.reference import parse_reference
from steps.images.registry import BlobStore, RegistryClient
from steps.readers.guard import SourcePolicy
from workflows.status import JobStatus

__all__ = ["measure_images"]

_MIB = 2**20


def measure_images(work: Path, *, jobs: int, big_bytes: int) -> list[Figure]:
    missing = [t for t in ("docker-registry", "umoci") if shutil.which(t) is None]
    if missing:
        print(
            f"image figures skipped: {', '.join(missing)} not installed (make test installs them)"
        )
        return []
    (work / "registry").mkdir(parents=True)
    with registry(work / "registry") as address:
        pusher = Pusher(address)
        python = _push_python(pusher)
        _push_big(pusher, big_bytes)
        figures = _cached_run(work / "home", address, python, jobs)
        figures += _cold_pull(work / "pull", address, big_bytes)
    return figures


def _push_python(pusher: Pusher) -> str:
    """The tests' Python image (the host's interpreter and standard library) plus, as real
    Python images ship it, the standard library's bytecode: the host runtime has it, so the
    image must too for the two jobs to do the same work."""
    layout = python_layout()
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(layout_blob(layout, index["manifests"][0]["digest"]))
    layers = [layout_blob(layout, item["digest"]) for item in manifest["layers"]]
    config = json.loads(layout_blob(layout, manifest["config"]["digest"]))
    stdlib = Path(f"/usr/lib/{Path(os.path.realpath('/usr/bin/python3')).name}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for cache in (stdlib / "__pycache__", stdlib / "encodings" / "__pycache__"):
            archive.add(cache, arcname=str(cache).lstrip("/"))
    layers.append(gzip.compress(buffer.getvalue(), 1, mtime=0))
    return pusher.image("bench/python", "3", layers, config=config.get("config"))


def _push_big(pusher: Pusher, size: int) -> None:
    """One layer of incompressible bytes: what the wire and the verifier see is ``size``."""
    info = tarfile.TarInfo("blob")
    info.size = size
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(info, io.BytesIO(os.urandom(size)))
    pusher.image("bench/big", "1", [gzip.compress(buffer.getvalue(), 1, mtime=0)])


def _cached_run(home: Path, address: str, digest: str, jobs: int) -> list[Figure]:
    """Pinned by its checksum, a cached image needs no registry (a tag alone is looked up
    again for every job: one manifest request, some tens of ms on loopback)."""
    bench = Bench(home, env={"C2D_INSECURE_REGISTRIES": address})
    image = {
        "entrypoint": "python3 $ALGO",
        "image": f"{address}/bench/python",
        "tag": "3",
        "checksum": digest,
    }
    try:
        _job(bench, image)  # the pull: every later job finds the image cached
        host, pulled = [], []
        for _ in range(jobs):
            host.append(_job(bench, None))
            pulled.append(_job(bench, image))
    finally:
        bench.close()
    image_median, host_median = percentile(pulled, 0.5), percentile(host, 0.5)
    return [
        Figure("image_job_s", image_median, "s", host_median, "host runtime as baseline", False),
        Figure(
            "image_job_overhead_ms",
            (image_median - host_median) * 1000,
            "ms",
            target="a few ms (the cached image's root instead of the host's /usr)",
            floor=False,
        ),
    ]


def _job(bench: Bench, container: dict[str, str] | None) -> float:
    account = Account.create()
    body = free_start_body(TRIVIAL, account=account, container=container)
    started = time.perf_counter()
    job = bench.start(body)
    final = wait_final(bench, account.address, job["jobId"])
    seconds = time.perf_counter() - started
    if final["status"] != JobStatus.FINISHED:
        raise RuntimeError(f"bench image job failed: {final.get('statusReason')}")
    return seconds


def _cold_pull(work: Path, address: str, size: int) -> list[Figure]:
    policy = SourcePolicy.parse("127.0.0.0/8")
    ref = parse_reference(f"{address}/bench/big", "1")
    client = RegistryClient(policy, frozenset({address}))
    started = time.perf_counter()
    pulled = client.resolve(ref, BlobStore(work / "fetch"))
    client.fetch_layers(ref, pulled, BlobStore(work / "fetch"), 2 * size)
    fetch = time.perf_counter() - started
    started = time.perf_counter()
    ImageCache(work / "cache", 4 * size).acquire(client, ref, 2 * size)
    whole = time.perf_counter() - started
    baseline, how = _skopeo(work, address)
    # skopeo is another implementation of the same fetch (Go), a point to compare with, which
    # c2d may beat; a plain download of the blobs is the least the fetch can cost (a floor).
    floor = baseline is None
    if baseline is None:
        baseline, how = _plain_download(work, address), "a plain HTTP download of the same blobs"
    mib = size // _MIB
    return [
        Figure(f"image_fetch_{mib}mib_s", fetch, "s", baseline, f"baseline: {how}", floor=floor),
        Figure(
            f"image_cold_pull_{mib}mib_s",
            whole,
            "s",
            baseline,
            "fetch, verify and unpack; same baseline",
            floor=False,
        ),
    ]


def _skopeo(work: Path, address: str) -> tuple[float | None, str]:
    if shutil.which("skopeo") is None:
        return None, ""
    source = f"docker://{address}/bench/big:1"
    command = ["skopeo", "copy", "--src-tls-verify=false", source, f"oci:{work / 'skopeo'}:big"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"skopeo copy failed ({done.stderr.strip()[-200:]}); HTTP download as baseline")
        return None, ""
    return seconds, "skopeo copy (Debian's) of the same image to an OCI layout"


def _plain_download(work: Path, address: str) -> float:
    base = f"http://{address}/v2/bench/big"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    started = time.perf_counter()
    with httpx.Client(timeout=120) as http:
        manifest = json.loads(http.get(f"{base}/manifests/1", headers=accept).content)
        for n, item in enumerate([manifest["config"], *manifest["layers"]]):
            url = f"{base}/blobs/{item['digest']}"
            with http.stream("GET", url) as answer, (work / f"plain-{n}").open("wb") as out:
                for chunk in answer.iter_bytes(_MIB):
                    out.write(chunk)
    return time.perf_counter() - started
