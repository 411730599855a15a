"""Algorithms in images pulled from a real registry on loopback, over REST against `c2d serve`.

Debian's docker-registry serves an umoci-built busybox image and hostile images made here;
the provider pulls them (loopback and plain HTTP opted in, as an operator would), unpacks them
into its cache and runs the algorithm with the image's root as / under the usual sandbox.
"""

from __future__ import annotations

import importlib.util
import io
import random
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient, ProviderError
from devkit.launch import ServerProcess, start_server
from steps.images.registry import PROGRESS_STEP
from tests.e2e.conftest import result_of_type, wait_for
from tests.steps.images.oci import (
    IMAGE_ONLY_MODULE,
    LAYER_ZSTD,
    Pusher,
    busybox_entries,
    busybox_layout,
    entry,
    layer,
    python_layout,
    registry,
    zstd_layer,
)
from workflows.status import JobStatus, status_text

BUSYBOX_JOB = """\
echo "greeting=$GREETING" > "$OUTPUTS/seen.txt"
echo "uid=$(id -u)" >> "$OUTPUTS/seen.txt"
ls /bin/busybox >> "$OUTPUTS/seen.txt"
test -e /usr/bin/python3 && echo "host python visible" >> "$OUTPUTS/seen.txt"
echo done
"""


@pytest.fixture(scope="module")
def image_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if shutil.which("docker-registry") is None or shutil.which("umoci") is None:
        pytest.skip("docker-registry and umoci are not installed (make test installs them)")
    folder = tmp_path_factory.mktemp("registry")
    with registry(folder) as address:
        yield address, folder / "access.log"


@pytest.fixture(scope="module")
def pushed(image_registry: tuple[str, Path]) -> dict[str, str]:
    address, _ = image_registry
    pusher = Pusher(address)
    return {
        "busybox": pusher.layout(busybox_layout(), "tools/busybox", "1"),
        "python": pusher.layout(python_layout(), "tools/python", "3"),
        # zstd layers, one of them bigger than a progress step (incompressible bytes).
        "zstd": pusher.image(
            "tools/zstd",
            "1",
            [
                zstd_layer(*busybox_entries()),
                zstd_layer(entry("blob", random.Random(17).randbytes(PROGRESS_STEP + 2**20))),
            ],
            media_type=LAYER_ZSTD,
        ),
        "evil": pusher.image(
            "tools/evil",
            "1",
            [layer(entry("bin/ok", b"1"), entry("../../../../tmp/c2d-evil-escape", b"x"))],
        ),
    }


@pytest.fixture(scope="module")
def images_server(
    image_registry: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    address, _ = image_registry
    env = {"C2D_SOURCE_NETWORKS": "127.0.0.0/8", "C2D_INSECURE_REGISTRIES": address}
    process = start_server(tmp_path_factory.mktemp("c2d-home"), env=env)
    yield process
    process.stop()


@pytest.fixture
def client(images_server: ServerProcess) -> Iterator[C2DClient]:
    with C2DClient(images_server.url, Account.create()) as c2d:
        yield c2d


def _start(client: C2DClient, container: dict[str, str], code: str = BUSYBOX_JOB) -> str:
    environment = str(client.environments()[0]["id"])
    container = {"entrypoint": "sh $ALGO", **container}
    algorithm = {"meta": {"rawcode": code, "container": container}}
    job = client.free_compute({"environment": environment, "algorithm": algorithm})
    return str(job["jobId"])


def _output(client: C2DClient, job: dict[str, Any], name: str) -> str:
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read().decode()


def _blob_gets(access_log: Path, digest: str) -> int:
    text = access_log.read_text(errors="replace")
    return len(re.findall(rf'"GET /v2/tools/busybox/blobs/{digest} HTTP', text))


def test_a_job_runs_in_the_image_it_names_and_two_jobs_pull_it_once(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, access_log = image_registry
    container = {"image": f"{address}/tools/busybox", "tag": "1"}
    first, second = _start(client, container), _start(client, container)
    jobs = [wait_for(client, first, timeout=120), wait_for(client, second, timeout=120)]
    for job in jobs:
        log = client.result(job["jobId"], result_of_type(job, "algorithmLog")["index"])
        assert job["status"] == JobStatus.FINISHED, (job["statusReason"], log)
        seen = _output(client, job, "seen.txt")
        # The image's Env and /bin; not the host's /usr; the unprivileged sandbox uid.
        assert seen == "greeting=from-the-image\nuid=1000\n/bin/busybox\n", seen
    layout = busybox_layout()
    manifest = (layout / "index.json").read_text()
    assert pushed["busybox"].removeprefix("sha256:") in manifest
    layer_digests = {line for line in re.findall(r"sha256:[0-9a-f]{64}", access_log.read_text())}
    fetched = [d for d in layer_digests if _blob_gets(access_log, d)]
    assert fetched and all(_blob_gets(access_log, d) == 1 for d in fetched)


def test_zstd_layers_run_and_the_configuration_log_shows_the_pull(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, _ = image_registry
    container = {"image": f"{address}/tools/zstd", "tag": "1"}
    first = wait_for(client, _start(client, container, "ls -l /blob"), timeout=120)
    assert first["status"] == JobStatus.FINISHED, first
    log = client.result(first["jobId"], result_of_type(first, "configurationLog")["index"])
    text = log.decode()
    assert f"image {address}/tools/zstd:1: 2 layer(s)" in text, text
    assert "fetching 2 (" in text
    big = f"{(PROGRESS_STEP + 2**20) / 10**6:.1f} MB"
    assert re.search(rf"layer 2/2 [0-9a-f]{{12}}: {PROGRESS_STEP / 10**6:.1f} MB of {big}\n", text)
    assert re.search(rf"layer 2/2 [0-9a-f]{{12}}: {big} of {big}, verified\n", text)
    assert re.search(r"unpacked 2 of 2 layer\(s\) in [0-9.]+ s", text)
    assert f"image ready: {address}/tools/zstd:1" in text
    # The pull's lines come first, then configure's own.
    assert text.index("image ready") < text.index("configure job")
    second = wait_for(client, _start(client, container, "true"), timeout=120)
    again = client.result(second["jobId"], result_of_type(second, "configurationLog")["index"])
    assert f"{pushed['zstd']} is cached, nothing to fetch" in again.decode()


def test_metrics_count_pulls_cache_hits_and_bytes(
    client: C2DClient, images_server: ServerProcess, image_registry: tuple[str, Path]
) -> None:
    address, _ = image_registry
    container = {"image": f"{address}/tools/busybox", "tag": "1"}
    for _ in range(2):  # the second (at least) is a cache hit, whatever ran before
        assert wait_for(client, _start(client, container))["status"] == JobStatus.FINISHED
    text = httpx.get(images_server.url + "/metrics", timeout=10).text
    counted = {
        name: float(value)
        for name, value in re.findall(r"^(c2d_image_\w+_total) (\S+)$", text, re.MULTILINE)
    }
    assert counted["c2d_image_pulls_total"] >= 1
    assert counted["c2d_image_cache_hits_total"] >= 1
    assert counted["c2d_image_pulled_bytes_total"] > 500_000  # busybox-static, at least
    assert counted["c2d_image_pull_seconds_total"] > 0


def test_a_python_job_imports_a_library_only_its_image_has(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    assert importlib.util.find_spec(IMAGE_ONLY_MODULE) is None  # not on this host
    address, _ = image_registry
    code = (
        f"import os, sys, {IMAGE_ONLY_MODULE}\n"
        f"open(os.path.join(os.environ['OUTPUTS'], 'answer.txt'), 'w')"
        f".write({IMAGE_ONLY_MODULE}.ANSWER + ' ' + sys.executable)\n"
    )
    container = {"image": f"{address}/tools/python", "tag": "3", "entrypoint": "python3 $ALGO"}
    job = wait_for(client, _start(client, container, code), timeout=120)
    log = client.result(job["jobId"], result_of_type(job, "algorithmLog")["index"])
    assert job["status"] == JobStatus.FINISHED, (job["statusReason"], log)
    assert _output(client, job, "answer.txt").startswith("only in the image /usr/bin/python3")


def test_a_job_pinned_by_its_checksum_runs(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, _ = image_registry
    container = {"image": f"{address}/tools/busybox", "tag": "1", "checksum": pushed["busybox"]}
    job = wait_for(client, _start(client, container), timeout=120)
    assert job["status"] == JobStatus.FINISHED, job


def test_a_wrong_checksum_ends_with_the_pull_status_and_a_reason(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, _ = image_registry
    wrong = "sha256:" + "0" * 64
    container = {"image": f"{address}/tools/busybox", "tag": "1", "checksum": wrong}
    job = wait_for(client, _start(client, container), timeout=60)
    assert job["status"] == JobStatus.PULL_IMAGE_FAILED
    assert job["statusText"] == status_text(JobStatus.PULL_IMAGE_FAILED)
    assert "not found" in job["statusReason"], job


def test_an_unknown_tag_ends_with_the_pull_status(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, _ = image_registry
    job = wait_for(client, _start(client, {"image": f"{address}/tools/busybox", "tag": "nope"}))
    assert job["status"] == JobStatus.PULL_IMAGE_FAILED, job
    assert "tools/busybox:nope not found" in job["statusReason"]


def test_a_registry_that_does_not_answer_ends_with_the_pull_status(client: C2DClient) -> None:
    # Nothing listens on loopback port 9 (discard): the pull fails, the job says why.
    job = wait_for(client, _start(client, {"image": "127.0.0.1:9/tools/busybox", "tag": "1"}))
    assert job["status"] == JobStatus.PULL_IMAGE_FAILED, job
    assert "could not reach 127.0.0.1:9" in job["statusReason"]


def test_a_hostile_image_fails_writes_nothing_outside_and_the_provider_keeps_serving(
    client: C2DClient, image_registry: tuple[str, Path], pushed: dict[str, str]
) -> None:
    address, _ = image_registry
    job = wait_for(client, _start(client, {"image": f"{address}/tools/evil", "tag": "1"}))
    assert job["status"] == JobStatus.PULL_IMAGE_FAILED, job
    assert "climbs out of the root" in job["statusReason"]
    assert not Path("/tmp/c2d-evil-escape").exists()
    after = wait_for(client, _start(client, {"image": f"{address}/tools/busybox", "tag": "1"}))
    assert after["status"] == JobStatus.FINISHED, after


def test_a_dockerfile_is_refused_at_start(client: C2DClient) -> None:
    env = client.environments()[0]
    assert env["registryImages"] == ["*"]  # the default free environment: any image
    assert env["allowImageBuild"] is False and env["free"]["allowImageBuild"] is False
    container = {"image": "x", "tag": "1", "dockerfile": "FROM x"}
    with pytest.raises(ProviderError) as caught:
        _start(client, container)
    assert caught.value.status_code == 400
    assert "this environment does not build images" in caught.value.message
