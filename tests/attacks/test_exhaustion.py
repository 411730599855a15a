"""Exhaustion: a disk filler ends with 42, a log flood is truncated with a note, and the provider
keeps answering meanwhile. (Memory and fork bombs, spinners: tests/e2e/test_limits.py.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

from devkit.client import C2DClient
from tests.attacks.conftest import algorithm_log, outputs, report, run, start
from tests.e2e.conftest import wait_for, wait_for_status
from tests.faults.conftest import RELEASE, job_folder, release_algorithm
from workflows.status import JobStatus

_GIB = 2**30

# Fills its outputs with 1 MiB files until the disk is full, then holds (full) until the test
# drops RELEASE into its outputs (an empty file needs no data block), and ends with its error.
DISK_FILLER = rf"""
import os, time
print("filling", flush=True)
try:
    for i in range(1000):
        with open(os.path.join(os.environ["OUTPUTS"], "fill-%d.bin" % i), "wb") as out:
            out.write(b"x" * (1 << 20))
except OSError:
    deadline = time.monotonic() + 300
    while not os.path.exists(os.path.join(os.environ["OUTPUTS"], {RELEASE!r})):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise
print("never full", flush=True)
"""


def _wait_until_full(folder: Path) -> None:
    """Until the job's disk (the quota mount at its outputs folder) has less than 1 MiB left."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = os.statvfs(folder)
        if os.path.ismount(folder) and info.f_bavail * info.f_frsize < 2**20:
            return
        time.sleep(0.05)
    raise AssertionError(f"{folder} never filled up")


def test_disk_filler_ends_with_42_and_the_provider_keeps_answering(
    attacker: C2DClient, attack_home: Path
) -> None:
    # 0.01 GiB ≈ 10 MiB for outputs and logs together; the filler writes 1 MiB files.
    job_id = start(attacker, DISK_FILLER, resources=[{"id": "disk", "amount": 0.01}])
    wait_for_status(attacker, job_id, JobStatus.RUNNING_ALGORITHM)
    _wait_until_full(job_folder(attack_home, job_id, "outputs"))
    # The disk is full and the algorithm still holds it: the provider answers meanwhile.
    assert attacker.environments(), "no environments listed while the job's disk is full"
    assert attacker.status(job_id)["status"] == JobStatus.RUNNING_ALGORITHM
    release_algorithm(attack_home, job_id)
    job = wait_for(attacker, job_id)
    assert job["status"] == JobStatus.DISK_QUOTA_EXCEEDED, job
    assert "disk quota" in job["statusReason"], job
    assert b"No space left on device" in algorithm_log(attacker, job)
    with outputs(attacker, job) as tar:
        total = sum(m.size for m in tar.getmembers())
    assert 0 < total <= int(0.01 * _GIB)


LOG_FLOOD = r"""
import sys
line = "flood " * 20 + "\n"
for _ in range(200_000):  # about 24 MiB, more than the 16 MiB a log may keep
    sys.stdout.write(line)
print("end of flood", flush=True)
"""


def test_log_flood_is_truncated_with_a_note(attacker: C2DClient) -> None:
    job = run(attacker, LOG_FLOOD, resources=[{"id": "disk", "amount": 0.1}])
    assert job["status"] == JobStatus.FINISHED, job
    log = algorithm_log(attacker, job)
    assert len(log) <= 16 * 2**20 + 200
    assert log.rstrip().endswith(b"]") and b"[truncated: log longer than" in log[-200:]
    assert b"end of flood" not in log


TMPFS_FILLER = r"""
import errno, json, os
out = {}
for folder in ("/dev/shm", "/tmp"):
    written = 0
    try:
        with open(os.path.join(folder, "fill.bin"), "wb") as sink:
            for _ in range(320):  # 320 MiB: more than either tmpfs may hold
                sink.write(b"x" * (1 << 20))
                sink.flush()
                written += 1 << 20
        out[folder] = ["written", written]
    except OSError as error:
        out[folder] = [errno.errorcode[error.errno], written]
    os.unlink(os.path.join(folder, "fill.bin"))
try:
    open("/dev/c2d-probe", "wb").close()
    out["/dev"] = "written"
except OSError as error:
    out["/dev"] = errno.errorcode[error.errno]
json.dump(out, open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w"))
"""


def test_dev_shm_and_tmp_are_sized_and_dev_is_read_only(attacker: C2DClient) -> None:
    job = run(attacker, TMPFS_FILLER, resources=[{"id": "ram", "amount": 1}])
    assert job["status"] == JobStatus.FINISHED, algorithm_log(attacker, job)[-2000:]
    found = report(attacker, job)
    assert found["/dev/shm"][0] == "ENOSPC" and found["/dev/shm"][1] <= 64 * 2**20, found
    assert found["/tmp"][0] == "ENOSPC" and found["/tmp"][1] <= 256 * 2**20, found
    assert found["/dev"] in ("EROFS", "EACCES"), found
