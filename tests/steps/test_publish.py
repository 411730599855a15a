"""python -m steps.publish: a safe outputs archive, capped logs and results.json, come what may."""

from __future__ import annotations

import json
import os
import tarfile

from tests.steps.conftest import Job, make_spec
from workflows import contract
from workflows.manifest import read_manifest


def _prepare(job: Job, **limits: int) -> None:
    job.write_spec(make_spec(**limits))
    for folder in (contract.OUTPUTS, contract.LOGS, contract.ADMIN_LOGS):
        job.host(folder).mkdir(parents=True, exist_ok=True)
    job.host(contract.CONFIGURE_LOG).write_text("configured\n")


def _members(job: Job) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(job.host(f"{contract.RESULTS}/{contract.OUTPUTS_ARCHIVE}")) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_archive_holds_only_plain_files_and_folders(job: Job) -> None:
    _prepare(job)
    outputs = job.host(contract.OUTPUTS)
    (outputs / "result.txt").write_text("42\n")
    (outputs / "nested" / "dir").mkdir(parents=True)
    (outputs / "nested" / "dir" / "deep.txt").write_text("deep")
    (outputs / "..evil").write_text("a dotted name is still a plain name")
    (outputs / "bad\nname").write_text("control character")
    (outputs / "passwd").symlink_to("/etc/passwd")
    (outputs / "etc").symlink_to("/etc")
    secret = job.root / "secret.txt"
    secret.write_text("outside the outputs folder")
    os.link(secret, outputs / "hardlink")
    os.mkfifo(outputs / "fifo")
    job.host(contract.ALGORITHM_LOG).write_text("algorithm says hi\n")

    done = job.run("publish")

    assert done.returncode == 0, done.stderr
    members = _members(job)
    assert set(members) == {"..evil", "nested", "nested/dir", "nested/dir/deep.txt", "result.txt"}
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
    assert members["result.txt"].mode == 0o644 and members["nested"].mode == 0o755
    assert members["result.txt"].isreg() and members["nested"].isdir()
    log = job.log(contract.PUBLISH_LOG)
    for why in ("symbolic link", "hard link", "fifo", "control character in name"):
        assert why in log
    results = job.host(contract.RESULTS)
    manifest = read_manifest(results)
    assert [(f.filename, f.type, f.index) for f in manifest] == [
        ("configuration.log", "configurationLog", 0),
        ("algorithm.log", "algorithmLog", 1),
        ("outputs.tar", "output", 2),
        ("publish.log", "publishLog", 3),
    ]
    assert all(f.filesize == (results / f.filename).stat().st_size for f in manifest)
    assert (results / "algorithm.log").read_text() == "algorithm says hi\n"
    assert "outputs: 3 file(s), 2 folder(s)" in (results / "publish.log").read_text()
    assert not list(results.glob(".*"))


def test_missing_outputs_folder_still_publishes_logs(job: Job) -> None:
    job.write_spec(make_spec())
    job.host(contract.ADMIN_LOGS).mkdir(parents=True)
    job.host(contract.CONFIGURE_LOG).write_text("input 0 file 0: failed: HTTP status 500\n")

    done = job.run("publish")

    assert done.returncode == 0, done.stderr
    assert _members(job) == {}
    names = [f.filename for f in read_manifest(job.host(contract.RESULTS))]
    assert names == ["configuration.log", "outputs.tar", "publish.log"]


def test_algorithm_log_is_capped_and_never_followed(job: Job) -> None:
    _prepare(job, log_bytes=100)
    job.host(contract.ALGORITHM_LOG).write_bytes(b"y" * 1000)

    assert job.run("publish").returncode == 0
    copied = job.host(f"{contract.RESULTS}/algorithm.log").read_bytes()
    assert copied.startswith(b"y" * 100) and b"[truncated" in copied and b"y" * 101 not in copied

    job.host(contract.ALGORITHM_LOG).unlink()
    job.host(contract.ALGORITHM_LOG).symlink_to("/etc/passwd")
    (job.host(contract.RESULTS) / "algorithm.log").unlink()

    assert job.run("publish").returncode == 0
    assert not job.host(f"{contract.RESULTS}/algorithm.log").exists()
    assert "algorithm.log: skipped, the log is a symbolic link" in job.log(contract.PUBLISH_LOG)


def test_size_cap_skips_what_does_not_fit(job: Job) -> None:
    _prepare(job, disk_bytes=20 * 1024)
    (job.host(contract.OUTPUTS) / "small.txt").write_text("fits")
    (job.host(contract.OUTPUTS) / "large.bin").write_bytes(b"z" * 50_000)

    assert job.run("publish").returncode == 0
    assert set(_members(job)) == {"small.txt"}
    assert "size cap 20480 bytes reached" in job.log(contract.PUBLISH_LOG)


def test_outputs_symlink_is_a_fetch_failure_with_logs(job: Job) -> None:
    _prepare(job)
    outputs = job.host(contract.OUTPUTS)
    outputs.rmdir()
    outputs.symlink_to("/etc")

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_FETCH_FAILED
    assert _members(job) == {}
    types = [f.type for f in read_manifest(job.host(contract.RESULTS))]
    assert types == ["configurationLog", "output", "publishLog"]


def test_unwritable_results_exit_62(job: Job) -> None:
    _prepare(job)
    blocker = job.root / "results"
    blocker.mkdir(exist_ok=True)
    (blocker / "job").write_text("a file where the result folder should be")
    job.mounts[contract.RESULTS] = str(blocker / "job" / "inner")

    done = job.run("publish")

    assert done.returncode == contract.EXIT_RESULTS_UPLOAD_FAILED
    assert "results upload failed" in job.log(contract.PUBLISH_LOG)
    assert "results upload failed" in done.stderr


def test_manifest_is_plain_json(job: Job) -> None:
    _prepare(job)
    assert job.run("publish").returncode == 0
    raw = json.loads(job.host(f"{contract.RESULTS}/{contract.RESULTS_MANIFEST}").read_text())
    assert raw[0] == {
        "filename": "configuration.log",
        "filesize": len("configured\n"),
        "type": "configurationLog",
        "index": 0,
    }
