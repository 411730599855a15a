"""python -m steps.configure against a loopback server: layout, downloads, failures, logs."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.steps.conftest import (
    ALGORITHM_CODE,
    BODY,
    BODY_SHA256,
    LARGE,
    LARGE_SHA256,
    ROOT,
    TIMEOUT,
    Job,
    Server,
    make_spec,
)
from workflows import contract
from workflows.contract import ALGORITHM_UID, PATH_MAP_ENV


def test_provisions_inputs_algorithm_and_layout(job: Job, server: Server) -> None:
    secret_url = server.url("file?token=SECRET-QUERY")
    inputs = [
        {
            "folder": "d1",
            "did": "did:op:" + "a" * 64,
            "ddo": {"id": "did:op:" + "a" * 64},
            "files": [
                {"url": secret_url, "checksum": BODY_SHA256},
                {"url": server.url("redirect")},
            ],
        },
        {
            "folder": "1",
            "files": [
                {"url": server.url("private"), "method": "POST", "headers": {"X-Token": "s3cret"}}
            ],
        },
    ]
    algorithm = {
        "files": [{"url": server.url("algorithm")}, {"url": server.url("error")}],
        "custom_data": {"alpha": 1},
    }
    job.write_spec(make_spec(inputs, algorithm))

    done = job.run("configure")

    assert done.returncode == 0, done.stderr
    assert job.host(f"{contract.INPUTS}/d1/0").read_bytes() == BODY
    assert job.host(f"{contract.INPUTS}/d1/1").read_bytes() == BODY
    assert job.host(f"{contract.INPUTS}/1/0").read_bytes() == BODY
    assert job.host(contract.ALGORITHM_PATH).read_bytes() == ALGORITHM_CODE
    assert json.loads(job.host(contract.ALGO_CUSTOM_DATA).read_text()) == {"alpha": 1}
    assert json.loads(job.host(f"{contract.DDOS}/d1").read_text())["id"].startswith("did:op:")
    assert not list(job.host(contract.DATA).rglob(".*.part"))
    log = job.log(contract.CONFIGURE_LOG)
    assert f"input 0 file 0: {len(BODY)} bytes, sha256 ok" in log
    assert "input 1 file 0: 3072 bytes, no checksum given" in log
    assert f"algorithm file 0: {len(ALGORITHM_CODE)} bytes" in log
    assert "1 further file(s) not fetched" in log
    for secret in ("SECRET-QUERY", "s3cret", "127.0.0.1", "http"):
        assert secret not in log
        assert secret not in done.stderr
    assert done.stderr.startswith("configure: ok")


def test_volume_permissions(job: Job) -> None:
    job.write_spec(make_spec())

    assert job.run("configure").returncode == 0

    for folder in (contract.INPUTS, contract.DDOS, contract.TRANSFORMATIONS):
        assert stat.S_IMODE(job.host(folder).stat().st_mode) == 0o755
    for folder in (contract.OUTPUTS, contract.LOGS):
        info = job.host(folder).stat()
        if os.geteuid() == 0:
            assert (info.st_uid, info.st_gid) == (contract.ALGORITHM_UID, contract.ALGORITHM_UID)
        else:
            assert stat.S_IMODE(info.st_mode) == 0o777
    code = job.host(contract.ALGORITHM_PATH)
    assert code.read_text() == "print(1)\n"
    assert "algorithm: raw code, 9 bytes" in job.log(contract.CONFIGURE_LOG)


def test_a_large_input_arrives_whole_and_checked(job: Job, server: Server) -> None:
    file = {"url": server.url("large"), "checksum": LARGE_SHA256}
    job.write_spec(make_spec([{"folder": "0", "files": [file]}], max_download_bytes=2 * len(LARGE)))

    done = job.run("configure")

    assert done.returncode == 0, done.stderr
    assert job.host(f"{contract.INPUTS}/0/0").read_bytes() == LARGE


def test_a_large_input_over_the_cap_leaves_nothing(job: Job, server: Server) -> None:
    cap = 12 * 2**20  # past what is written inline: the writer's thread holds chunks
    inputs = [{"folder": "0", "files": [{"url": server.url("endless")}]}]
    job.write_spec(make_spec(inputs, max_download_bytes=cap))

    done = job.run("configure")

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED, done.stderr
    assert f"input 0 file 0: failed: size cap {cap} bytes exceeded" in job.log(
        contract.CONFIGURE_LOG
    )
    assert list(job.host(f"{contract.INPUTS}/0").iterdir()) == []


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/file?token=SECRET-QUERY"


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("error", "HTTP status 500"),
        ("hang", f"timeout after {TIMEOUT:g} s without progress"),
        ("lying", "the server closed the connection before the body was complete"),
        ("endless", "size cap 1000000 bytes exceeded"),
        ("huge", "size cap exceeded: the server announced"),
        ("loop", "more than 5 redirects"),
        ("refused", "connection refused"),
        ("badsum", "checksum mismatch"),
    ],
)
def test_input_failures_exit_31_with_a_reason(
    job: Job, server: Server, endpoint: str, reason: str
) -> None:
    file: dict[str, str] = {"url": server.url(f"{endpoint}?token=SECRET-QUERY")}
    if endpoint == "refused":
        file["url"] = _closed_port_url()
    if endpoint == "badsum":
        file = {"url": server.url("file?token=SECRET-QUERY"), "checksum": "0" * 64}
    job.write_spec(make_spec([{"folder": "0", "files": [file]}]))

    done = job.run("configure")

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED, done.stderr
    log = job.log(contract.CONFIGURE_LOG)
    assert f"input 0 file 0: failed: {reason}" in log
    assert "data provisioning failed" in log
    assert "SECRET-QUERY" not in log + done.stderr
    assert "127.0.0.1" not in log + done.stderr
    assert done.stderr.count("\n") == 1
    # Nothing half-downloaded is left for the algorithm to read.
    assert not (job.host(f"{contract.INPUTS}/0") / "0").exists()
    assert not list(job.host(f"{contract.INPUTS}/0").iterdir())


def test_slow_drip_hits_the_overall_deadline(job: Job, server: Server) -> None:
    # The overall cap is timeout + budget / 64 KiB/s: about 0.52 s for a 1500-byte budget.
    job.write_spec(
        make_spec(
            [{"folder": "0", "files": [{"url": server.url("drip")}]}], max_download_bytes=1500
        )
    )

    done = job.run("configure")

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED
    assert "download took longer than 0.5 s" in job.log(contract.CONFIGURE_LOG)


def test_budget_is_shared_across_files(job: Job, server: Server) -> None:
    files = [{"url": server.url("file")}, {"url": server.url("file")}]
    # A timeout long enough for a loaded machine: this test is about the byte budget, not time.
    spec = make_spec(
        [{"folder": "0", "files": files}], max_download_bytes=5000, download_timeout=30
    )
    job.write_spec(spec)

    done = job.run("configure")

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED
    log = job.log(contract.CONFIGURE_LOG)
    assert "input 0 file 0: 3072 bytes" in log
    assert "input 0 file 1: failed: size cap exceeded" in log


def test_algorithm_failure_exits_32(job: Job, server: Server) -> None:
    algorithm = {"files": [{"url": server.url("algorithm"), "checksum": "f" * 64}]}
    job.write_spec(make_spec([{"folder": "0", "files": [{"url": server.url("file")}]}], algorithm))

    done = job.run("configure")

    assert done.returncode == contract.EXIT_ALGORITHM_PROVISIONING_FAILED
    log = job.log(contract.CONFIGURE_LOG)
    assert "algorithm file 0: failed: checksum mismatch" in log
    assert "algorithm provisioning failed" in log
    assert not job.host(contract.ALGORITHM_PATH).exists()
    assert done.stderr.startswith("configure: algorithm provisioning failed")


def test_missing_spec_exits_31(job: Job) -> None:
    done = job.run("configure")

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED
    assert "job spec: failed" in job.log(contract.CONFIGURE_LOG)


def test_duplicate_folders_refused(job: Job, server: Server) -> None:
    item = {"folder": "0", "files": [{"url": server.url("file")}]}
    job.write_spec(make_spec([item, item]))

    assert job.run("configure").returncode == contract.EXIT_DATA_PROVISIONING_FAILED
    assert BODY  # the server is never asked


# configure in a pod runs as uid 1000 on subPath folders the kubelet made as root
# (kubelet_pods.go makeMounts: SafeMakeDir with the volume root's mode, no chown). The step is
# imported as root (the interpreter lives under /root), then drops to uid/gid 1000 before main().
_AS_POD_USER = (
    "import os, sys; import steps.configure as step;"
    " os.setgroups([{gid}]); os.setgid({gid}); os.setuid({uid});"
    " sys.exit(step.main())"
)


def _kubelet_made_volume(root: Path, mode: int, gid: int) -> dict[str, str]:
    """The job volume's subPaths as the kubelet leaves them: root-owned, the root's mode."""
    root.chmod(0o755)
    volume = root / "volume"
    volume.mkdir()
    mounts = {
        contract.DATA: str(volume / "data"),
        contract.ADMIN_LOGS: str(volume / "admin"),
        contract.SPEC_DIR: str(root / "spec"),
    }
    for sub in ("data", "admin"):
        (volume / sub).mkdir()
        os.chown(volume / sub, 0, gid)
        (volume / sub).chmod(mode)
    return mounts


def _configure_as_pod_user(mounts: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PATH_MAP_ENV: json.dumps(mounts)}
    code = _AS_POD_USER.format(uid=ALGORITHM_UID, gid=ALGORITHM_UID)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def pod_root() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to play the kubelet (chown) and the pod user (setuid)")
    with tempfile.TemporaryDirectory(prefix="c2d-pod-") as folder:
        yield Path(folder)


def test_configure_as_uid_1000_on_a_kubelet_made_fsgroup_volume(pod_root: Path) -> None:
    # With the step pods' fsGroup 1000 the kubelet leaves root:1000, setgid, group-writable.
    mounts = _kubelet_made_volume(pod_root, 0o2775, ALGORITHM_UID)
    spec = Path(mounts[contract.SPEC_DIR])
    spec.mkdir()
    (spec / Path(contract.SPEC_FILE).name).write_text(make_spec().model_dump_json())
    spec.chmod(0o755)
    (spec / Path(contract.SPEC_FILE).name).chmod(0o644)

    done = _configure_as_pod_user(mounts)

    assert done.returncode == 0, done.stderr
    data = Path(mounts[contract.DATA])
    assert (data / "transformations" / "algorithm").read_text() == "print(1)\n"
    for sub in ("outputs", "logs"):
        assert (data / sub).stat().st_uid == ALGORITHM_UID
    assert "configured" in (Path(mounts[contract.ADMIN_LOGS]) / "configure.log").read_text()


def test_configure_on_a_volume_it_cannot_write_says_so(pod_root: Path) -> None:
    # Block storage without fsGroup: root:root 0755. Exit 31 with a reason, not a traceback.
    mounts = _kubelet_made_volume(pod_root, 0o755, 0)
    spec = Path(mounts[contract.SPEC_DIR])
    spec.mkdir()
    (spec / Path(contract.SPEC_FILE).name).write_text(make_spec().model_dump_json())
    (spec / Path(contract.SPEC_FILE).name).chmod(0o644)

    done = _configure_as_pod_user(mounts)

    assert done.returncode == contract.EXIT_DATA_PROVISIONING_FAILED
    assert f"volume: /data is not writable by uid {ALGORITHM_UID}" in done.stderr
    assert "Traceback" not in done.stderr


def test_configure_syncs_nothing_to_disk(
    job: Job, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job volume is scratch: an fsync per written file (7 ms and more) bought nothing."""
    from steps import configure

    inputs = [{"folder": "d1", "ddo": {"id": "x"}, "files": [{"url": server.url("file")}]}]
    job.write_spec(make_spec(inputs, {"rawcode": ALGORITHM_CODE, "custom_data": {"a": 1}}))
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    environ = {**os.environ, PATH_MAP_ENV: json.dumps(job.mounts), **job.extra_env}

    assert configure.main(environ) == 0

    assert job.host(f"{contract.INPUTS}/d1/0").read_bytes() == BODY
    assert json.loads(job.host(contract.ALGO_CUSTOM_DATA).read_text()) == {"a": 1}
    assert synced == []
