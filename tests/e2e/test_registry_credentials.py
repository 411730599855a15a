"""A private image behind a registry that wants credentials, over REST against `c2d serve`.

Debian's docker-registry with an htpasswd file serves a busybox image under ``private/``; the
consumer seals ``{"username", "password"}`` for the provider's nodePublicKey as ocean.js does
(``encryptedDockerRegistryAuth``). Without it, or with a wrong password, the pull fails with the
pull status; with it, the job runs; a field that cannot be opened is a 400 before any job. The
password is never anywhere the provider writes in clear.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devkit.client import C2DClient, ProviderError
from devkit.launch import ServerProcess, start_server
from tests.e2e.conftest import wait_for
from tests.e2e.oceanjs import run_oceanjs
from tests.e2e.storage_checks import sealed_output
from tests.steps.images.oci import Pusher, busybox_layout, htpasswd_auth_config, registry
from workflows.status import JobStatus

_JOB_FOLDER = re.compile(r"[0-9a-f]{32}")

USER, PASSWORD = "carol", "Pr1vate-Registry-Pa55"


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("docker-registry") is None or shutil.which("umoci") is None:
        pytest.skip("docker-registry and umoci are not installed (make test installs them)")
    folder = tmp_path_factory.mktemp("private-registry")
    with registry(folder, htpasswd_auth_config(folder, {USER: PASSWORD})) as address:
        yield address


@pytest.fixture(scope="module")
def digest(private_registry: str) -> str:
    pusher = Pusher(private_registry, basic=(USER, PASSWORD))
    return pusher.layout(busybox_layout(), "private/busybox", "1")


@pytest.fixture(scope="module")
def server(
    private_registry: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    home = tmp_path_factory.mktemp("c2d-home")
    env = {"C2D_SOURCE_NETWORKS": "127.0.0.0/8", "C2D_INSECURE_REGISTRIES": private_registry}
    process = start_server(home, env=env)
    yield process, home
    process.stop()


@pytest.fixture
def client(server: tuple[ServerProcess, Path]) -> Iterator[C2DClient]:
    with C2DClient(server[0].url, Account.create()) as c2d:
        yield c2d


def _body(client: C2DClient, container: dict[str, str], sealed: str | None) -> dict[str, Any]:
    algorithm = {
        "meta": {
            "rawcode": 'echo "ran in $(ls /bin/busybox)" > "$OUTPUTS/seen.txt"',
            "container": {"entrypoint": "sh $ALGO", **container},
        }
    }
    body: dict[str, Any] = {"environment": client.environments()[0]["id"], "algorithm": algorithm}
    if sealed is not None:
        body["encryptedDockerRegistryAuth"] = sealed
    return body


def _seal(client: C2DClient, document: dict[str, str]) -> str:
    return sealed_output(client.discovery()["nodePublicKey"], document)


def _run(client: C2DClient, container: dict[str, str], sealed: str | None) -> dict[str, Any]:
    job = client.free_compute(_body(client, container, sealed))
    return wait_for(client, str(job["jobId"]), timeout=120)


def test_a_private_image_runs_only_with_the_right_sealed_credentials(
    client: C2DClient, server: tuple[ServerProcess, Path], private_registry: str, digest: str
) -> None:
    image = {"image": f"{private_registry}/private/busybox", "tag": "1"}
    anonymous = _run(client, image, None)
    assert anonymous["status"] == JobStatus.PULL_IMAGE_FAILED, anonymous
    assert "refused access" in anonymous["statusReason"]
    wrong = _run(client, image, _seal(client, {"username": USER, "password": "not-it"}))
    assert wrong["status"] == JobStatus.PULL_IMAGE_FAILED, wrong
    assert "refused access" in wrong["statusReason"]
    sealed = _seal(client, {"username": USER, "password": PASSWORD})
    job = _run(client, image, sealed)
    assert job["status"] == JobStatus.FINISHED, job
    # A second consumer who only knows the digest gets nothing the first one's credentials
    # pulled into the cache: the registry is asked again, with theirs (none).
    with C2DClient(server[0].url, Account.create()) as stranger:
        pinned = {**image, "checksum": digest}
        other = _run(stranger, pinned, None)
        assert other["status"] == JobStatus.PULL_IMAGE_FAILED, other
        assert _run(stranger, pinned, sealed)["status"] == JobStatus.FINISHED
    # Never in clear: not in the status, the provider's log or any file under its home.
    status_text = str(client.status(job["jobId"]))
    assert PASSWORD not in status_text and sealed not in status_text
    home = server[1]
    # A job's working folder is deleted just after its end is visible; walked meanwhile, an
    # entry vanished under the walk (FileNotFoundError). Everything that stays is walked.
    _wait_for_job_folders_removed(home / "jobs")
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert PASSWORD.encode() not in path.read_bytes(), path


def _wait_for_job_folders_removed(jobs: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(_JOB_FOLDER.fullmatch(entry.name) for entry in jobs.iterdir()):
        assert time.monotonic() < deadline, sorted(entry.name for entry in jobs.iterdir())
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"username": USER}, "either 'auth' must be provided"),
        ({"auth": "%%%"}, "auth is not the base64"),
    ],
)
def test_credentials_of_the_wrong_shape_are_a_400_before_any_job(
    client: C2DClient, private_registry: str, document: dict[str, str], problem: str
) -> None:
    image = {"image": f"{private_registry}/private/busybox", "tag": "1"}
    with pytest.raises(ProviderError) as caught:
        client.free_compute(_body(client, image, _seal(client, document)))
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("encryptedDockerRegistryAuth: "), caught.value.message
    assert problem in caught.value.message
    assert client.status_list() == []


def test_credentials_not_sealed_for_this_provider_are_a_400(
    client: C2DClient, private_registry: str
) -> None:
    image = {"image": f"{private_registry}/private/busybox", "tag": "1"}
    for sealed, problem in (
        ("0x04aa", "encrypted data is malformed"),
        ("not hex", "not a hex string"),
    ):
        with pytest.raises(ProviderError) as caught:
            client.free_compute(_body(client, image, sealed))
        assert caught.value.status_code == 400
        assert problem in caught.value.message


def test_credentials_for_an_image_that_is_not_pulled_are_refused(client: C2DClient) -> None:
    sealed = _seal(client, {"username": USER, "password": PASSWORD})
    with pytest.raises(ProviderError) as caught:
        client.free_compute(_body(client, {"image": "python", "tag": "3.11"}, sealed))
    assert caught.value.status_code == 400
    assert "nothing is pulled" in caught.value.message


@pytest.mark.node
def test_oceanjs_runs_a_private_image_with_the_credentials_it_seals(
    server: tuple[ServerProcess, Path], private_registry: str, digest: str
) -> None:
    """The real client: ocean.js encrypts ``dockerRegistryAuth`` for nodePublicKey itself."""
    consumer = Account.create()
    image = {"image": f"{private_registry}/private/busybox", "tag": "1", "entrypoint": "sh $ALGO"}
    right = {"username": USER, "password": PASSWORD}
    jobs = {
        "sealed": {"container": image, "auth": right},
        "pinned": {"container": {**image, "checksum": digest}, "auth": right},
        "anonymous": {"container": image},
        "half": {"container": image, "auth": {"username": USER}},
    }
    summary = run_oceanjs(
        "oceanjs_image.mjs",
        {
            "PROVIDER_URL": server[0].url,
            "CONSUMER_KEY": consumer.key.hex(),
            "JOBS": json.dumps(jobs),
            "ALGORITHM_CODE": 'ls /bin/busybox > "$OUTPUTS/seen.txt"',
        },
    )
    assert summary["ok"] is True, summary
    assert "either 'auth' must be provided" in summary["refused"]["half"], summary
    assert set(summary["jobs"]) == {"sealed", "pinned", "anonymous"}, summary
    with C2DClient(server[0].url, consumer) as client:
        done = {name: wait_for(client, job, timeout=120) for name, job in summary["jobs"].items()}
    assert done["sealed"]["status"] == JobStatus.FINISHED, done["sealed"]
    assert done["pinned"]["status"] == JobStatus.FINISHED, done["pinned"]
    assert done["anonymous"]["status"] == JobStatus.PULL_IMAGE_FAILED, done["anonymous"]
