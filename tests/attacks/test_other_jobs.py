"""Other jobs: a second job's inputs and outputs are invisible, while it runs and after."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from devkit.client import C2DClient
from devkit.demo.files import FileServer
from tests.attacks.conftest import report, run, start
from tests.e2e.conftest import raw_dataset, wait_for, wait_for_status
from workflows.status import JobStatus

VICTIM = r"""
import os, time
data = open("/data/inputs/0/0", "rb").read()
open(os.path.join(os.environ["OUTPUTS"], "result.txt"), "wb").write(data[::-1] + data)
open("/tmp/victim-tmp", "wb").write(data)
print("victim ready", flush=True)
time.sleep(SECONDS)
"""

SEEKER = r"""
import json, os
needle = NEEDLE[::-1].encode()
hits, seen = [], 0
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc/sys", "/sys", "/usr", "/dev")):
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as handle:
                seen += 1
                if needle in handle.read(1 << 22):
                    hits.append(path)
        except OSError:
            pass
out = {"hits": hits, "seen": seen, "inputs": sorted(os.listdir("/data/inputs"))}
open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w").write(json.dumps(out))
"""


@pytest.fixture
def secret_dataset(attack_files: FileServer, attack_folder: Path) -> tuple[str, str]:
    needle = "c2d-secret-" + secrets.token_hex(16)
    folder = attack_folder
    name = f"{needle}.csv"
    (folder / name).write_text(needle + "\n")
    return needle, attack_files.url(name)


def test_a_job_never_sees_another_jobs_data(
    attacker: C2DClient, secret_dataset: tuple[str, str]
) -> None:
    needle, url = secret_dataset
    seeker = SEEKER.replace("NEEDLE", repr(needle[::-1]))
    victim_id = start(attacker, VICTIM.replace("SECONDS", "6"), datasets=[raw_dataset(url)])
    wait_for_status(attacker, victim_id, JobStatus.RUNNING_ALGORITHM)
    during = run(attacker, seeker)
    victim = wait_for(attacker, victim_id)
    assert victim["status"] == JobStatus.FINISHED, victim
    after = run(attacker, seeker)
    for job in (during, after):
        assert job["status"] == JobStatus.FINISHED, job
        found = report(attacker, job)
        assert found["hits"] == [], found
        assert found["seen"] > 3 and found["inputs"] == [], found
