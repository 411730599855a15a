"""python -m steps.configure against a loopback server: layout, downloads, failures, logs."""

from __future__ import annotations

import json
import os
import socket
import stat

import pytest

from tests.steps.conftest import (
    ALGORITHM_CODE,
    BODY,
    BODY_SHA256,
    TIMEOUT,
    Job,
    Server,
    make_spec,
)
from workflows import contract


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
    job.write_spec(make_spec([{"folder": "0", "files": files}], max_download_bytes=5000))

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
