"""Resource limits and confinement seen through the REST API, with hostile raw algorithms.

Each test runs a real job on the session ``c2d serve`` with small resources (a fraction of a GiB
of RAM or disk) so that a limit is reached within a second or two.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
import uuid
from typing import Any

import pytest

from devkit.client import C2DClient
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for, wait_for_status
from workflows.status import JobStatus

_GIB = 2**30


@pytest.fixture(autouse=True)
def _logged_in(client: C2DClient) -> None:
    """With a token, computeStatus shows the owner's view: statusReason, terminationDetails."""
    client.login()


def _start(client: C2DClient, code: str, **body: Any) -> str:
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(code), **body})
    return str(job["jobId"])


def _members(client: C2DClient, job: dict[str, Any]) -> dict[str, bytes]:
    """Every regular file of the job's outputs.tar, by name."""
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                files[member.name] = handle.read()
    return files


def _algorithm_log(client: C2DClient, job: dict[str, Any]) -> str:
    index = result_of_type(job, "algorithmLog")["index"]
    return client.result(job["jobId"], index).decode(errors="replace")


def _pgrep(marker: str) -> list[str]:
    """Host processes whose command line holds ``marker`` (pgrep never lists itself)."""
    found = subprocess.run(
        ["pgrep", "-a", "-f", marker], capture_output=True, text=True, timeout=10, check=False
    )
    return found.stdout.splitlines()


# --- 1. memory ---------------------------------------------------------------------------------

MEMORY_BOMB = """
import time
print("allocating", flush=True)
time.sleep(1)
chunks = []
for i in range(64):
    chunks.append(b"x" * (16 << 20))  # written, so every page is really used
    print("allocated", (i + 1) * 16, "MiB", flush=True)
    time.sleep(0.01)
print("survived", flush=True)
"""


def test_memory_bomb_is_oom_killed_while_the_provider_keeps_answering(
    client: C2DClient,
) -> None:
    bystander = _start(client, "print('bystander done')")
    bomb = _start(client, MEMORY_BOMB, resources=[{"id": "ram", "amount": 0.25}])
    wait_for_status(client, bomb, JobStatus.RUNNING_ALGORITHM)
    # While the bomb allocates, the provider still answers about another job (no timing is
    # asserted: a loaded machine is slow, a provider stalled by the bomb would not answer).
    polls = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        other = client.status(bystander)
        assert other["jobId"] == bystander
        polls += 1
        if client.status(bomb)["status"] not in (
            JobStatus.RUNNING_ALGORITHM,
            JobStatus.STARTED,
            JobStatus.CONFIGURING_VOLUMES,
            JobStatus.PROVISIONING,
        ):
            break
        time.sleep(0.05)
    assert polls > 1
    final = wait_for(client, bomb)
    assert final["status"] == JobStatus.ALGORITHM_FAILED, final
    assert final["terminationDetails"]["OOMKilled"] is True, final
    assert "memory" in final["statusReason"], final
    log = _algorithm_log(client, final)
    assert "allocating" in log and "survived" not in log, log
    # 256 MiB allowed: it got some way, never to 1 GiB.
    assert "allocated 16 MiB" in log and "allocated 1024 MiB" not in log, log
    assert wait_for(client, bystander)["status"] == JobStatus.FINISHED


# --- 2. processes ------------------------------------------------------------------------------

FORK_BOMB = """
import errno, json, os, time
forks, refused = 0, None
for _ in range(100000):
    try:
        pid = os.fork()
    except OSError as error:
        refused = {"type": type(error).__name__, "errno": errno.errorcode.get(error.errno)}
        break
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    forks += 1
report = {"forks": forks, "refused": refused}
with open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w") as out:
    json.dump(report, out)
print("report", json.dumps(report), flush=True)
"""


def test_fork_bomb_is_capped_and_the_next_job_still_runs(client: C2DClient) -> None:
    bomb = _start(client, FORK_BOMB, maxJobDuration=60)
    final = wait_for(client, bomb, timeout=50)
    # It ends by itself, not by its 60 s deadline: its sleeping children died with it.
    assert "duration" not in (final.get("statusReason") or ""), final
    report = json.loads(_members(client, final)["report.json"])
    assert report["refused"] == {"type": "BlockingIOError", "errno": "EAGAIN"}, report
    # The job's process cap (256, counting the sandbox's own few) stopped it.
    assert 10 < report["forks"] < 256, report

    follower = _start(client, "print('still here')")
    done = wait_for(client, follower)
    assert done["status"] == JobStatus.FINISHED, done
    assert "still here" in _algorithm_log(client, done)


# --- 3. file size ------------------------------------------------------------------------------

BIG_FILE = """
import os
path = os.path.join(os.environ["OUTPUTS"], "big.bin")
print("writing", flush=True)
with open(path, "wb") as out:
    for _ in range(8):
        out.write(b"x" * (1 << 20))
        out.flush()
print("wrote it all", flush=True)
"""


def test_file_bigger_than_the_disk_resource_cannot_be_written(client: C2DClient) -> None:
    # 0.002 GiB ≈ 2 MiB of disk; the algorithm tries 8 MiB in one file.
    job = _start(client, BIG_FILE, resources=[{"id": "disk", "amount": 0.002}])
    final = wait_for(client, job)
    assert final["status"] == JobStatus.ALGORITHM_FAILED, final
    # Python ignores SIGXFSZ, so the write fails with EFBIG and the traceback ends the run.
    assert final["terminationDetails"]["exitCode"] == 1, final
    assert final["terminationDetails"]["OOMKilled"] is False
    log = _algorithm_log(client, final)
    assert "writing" in log and "wrote it all" not in log, log
    assert "File too large" in log, log
    # Whatever part of the file was written stays within the disk resource: outputs.tar holds
    # at most that much of it (here the truncated file plus tar headers exceed the cap, so
    # publish skips it).
    outputs = _members(client, final)
    assert len(outputs.get("big.bin", b"")) <= int(0.002 * _GIB)


# --- 4. wall clock and detached children -------------------------------------------------------

DETACHED_SPINNER = """
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/usr/bin/python3", ["python3", "-c", "while True: pass  # MARKER"])
    os._exit(0)
print("spinning", flush=True)
while True:
    pass
"""


def test_spinner_with_a_detached_child_is_stopped_with_all_its_processes(
    client: C2DClient,
) -> None:
    marker = f"c2d-orphan-{uuid.uuid4().hex}"
    job = _start(client, DETACHED_SPINNER.replace("MARKER", marker), maxJobDuration=2)
    wait_for_status(client, job, JobStatus.RUNNING_ALGORITHM)
    # The detached grandchild does run on the host while the job runs...
    deadline = time.monotonic() + 10
    while not _pgrep(marker):
        assert time.monotonic() < deadline, "the detached child never started"
        time.sleep(0.05)
    final = wait_for(client, job, timeout=30)
    assert final["status"] == JobStatus.ALGORITHM_FAILED, final
    assert "duration" in final["statusReason"], final
    assert "spinning" in _algorithm_log(client, final)
    # ...and none of the job's processes outlives it.
    assert _pgrep(marker) == []


# --- 5. where an algorithm may write -----------------------------------------------------------

WRITER = """
import json, os
report = {}
for path in ["/data/inputs/x", "/data/x", "/x", "/usr/x", "/usr/lib/x", "/etc/x", "/proc/x"]:
    try:
        with open(path, "w") as out:
            out.write("x")
        report[path] = "written"
    except OSError as error:
        report[path] = "denied: " + type(error).__name__
with open("/tmp/MARKER", "w") as out:
    out.write("left behind")
report["tmp"] = sorted(os.listdir("/tmp"))
os.makedirs(os.path.join(os.environ["OUTPUTS"], "sub"))
with open(os.path.join(os.environ["OUTPUTS"], "sub", "kept.txt"), "w") as out:
    out.write("kept")
with open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w") as out:
    json.dump(report, out)
"""

TMP_READER = """
import json, os
with open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w") as out:
    json.dump({"tmp": sorted(os.listdir("/tmp"))}, out)
"""


def test_only_outputs_are_writable_and_only_outputs_come_back(client: C2DClient) -> None:
    marker = f"c2d-tmp-{uuid.uuid4().hex}"
    writer = wait_for(client, _start(client, WRITER.replace("MARKER", marker)))
    assert writer["status"] == JobStatus.FINISHED, writer
    outputs = _members(client, writer)
    assert sorted(outputs) == ["report.json", "sub/kept.txt"], sorted(outputs)
    assert outputs["sub/kept.txt"] == b"kept"
    report = json.loads(outputs["report.json"])
    for path in ["/data/inputs/x", "/data/x", "/x", "/usr/x", "/usr/lib/x", "/etc/x", "/proc/x"]:
        assert report[path].startswith("denied"), (path, report)
    assert marker in report["tmp"], report

    # /tmp was the job's own: the next job starts with an empty one.
    reader = wait_for(client, _start(client, TMP_READER))
    assert reader["status"] == JobStatus.FINISHED, reader
    assert json.loads(_members(client, reader)["report.json"])["tmp"] == []
