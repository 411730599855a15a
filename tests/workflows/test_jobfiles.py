"""workflows.jobfiles: a job's file is opened below a trusted folder, never through a link,
never a special file, never read past a cap — with openat2 and with the openat walk."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflows import jobfiles
from workflows.engines.local.follow import JobEvents, follow_log
from workflows.engines.local.inotify import Inotify
from workflows.jobfile_stream import stream_job_file
from workflows.jobfiles import JobFilePath, RefusedJobFile, read_job_file


@pytest.fixture(params=["openat2", "openat walk"])
def resolver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "openat2":
        if jobfiles._openat2() is None:
            pytest.skip("this kernel has no openat2")
    else:
        monkeypatch.setattr(jobfiles, "_openat2", lambda: None)
    yield str(request.param)


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """``job/`` is the trusted folder; ``job/volume/logs`` is the job's."""
    (tmp_path / "secret").write_text("host secret")
    logs = tmp_path / "job" / "volume" / "logs"
    logs.mkdir(parents=True)
    (logs / "algorithm.log").write_bytes(b"line\n" * 10)
    return tmp_path / "job"


def _read(job: Path, relative: str, cap: int = 1 << 20) -> bytes:
    return read_job_file(JobFilePath(job, relative), cap)


def test_a_plain_file_is_read_up_to_the_cap(job: Path, resolver: str) -> None:
    assert _read(job, "volume/logs/algorithm.log") == b"line\n" * 10
    assert _read(job, "volume/logs/algorithm.log", cap=7) == b"line\nli"
    tail = read_job_file(JobFilePath(job, "volume/logs/algorithm.log"), 7, tail=True)
    assert tail == b"e\nline\n"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda logs: os.symlink(logs.parent.parent.parent / "secret", logs / "x"), "symbolic"),
        (lambda logs: os.symlink("../../../secret", logs / "x"), "symbolic"),
        (lambda logs: os.symlink("/dev/zero", logs / "x"), "symbolic"),
        (lambda logs: os.mkfifo(logs / "x"), "fifo"),
        (lambda logs: os.link(logs / "algorithm.log", logs / "x"), "hard link"),
        (lambda logs: (logs / "x").mkdir(), "directory"),
    ],
    ids=["absolute link", "relative link", "/dev/zero", "fifo", "hard link", "folder"],
)
def test_links_and_special_files_are_refused(
    job: Path, resolver: str, make: object, says: str
) -> None:
    logs = job / "volume" / "logs"
    make(logs)  # type: ignore[operator]
    with pytest.raises(RefusedJobFile, match=says):
        _read(job, "volume/logs/x")


def test_a_linked_folder_on_the_way_is_refused(job: Path, resolver: str) -> None:
    os.rename(job / "volume" / "logs", job / "elsewhere")
    os.symlink("../elsewhere", job / "volume" / "logs")
    with pytest.raises(RefusedJobFile):
        _read(job, "volume/logs/algorithm.log")
    with pytest.raises(RefusedJobFile, match="not a path below"):
        _read(job, "volume/../../secret")


def test_absent_is_file_not_found(job: Path, resolver: str) -> None:
    with pytest.raises(FileNotFoundError):
        _read(job, "volume/logs/none.log")


def test_a_fifo_with_no_writer_does_not_block_the_open(job: Path, resolver: str) -> None:
    os.mkfifo(job / "volume" / "logs" / "fifo")
    done = threading.Event()

    def attempt() -> None:
        with pytest.raises(RefusedJobFile):
            _read(job, "volume/logs/fifo")
        done.set()

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert done.is_set()


def test_a_finished_log_streams_capped_with_a_note(job: Path) -> None:
    async def collect(relative: str, cap: int) -> bytes:
        return b"".join([c async for c in stream_job_file(JobFilePath(job, relative), cap)])

    assert asyncio.run(collect("volume/logs/algorithm.log", 100)) == b"line\n" * 10
    capped = asyncio.run(collect("volume/logs/algorithm.log", 12))
    assert capped == b"line\nline\nli\n[truncated: log longer than 12 bytes]\n"
    os.symlink("/etc/passwd", job / "volume" / "logs" / "link")
    assert b"log not shown" in asyncio.run(collect("volume/logs/link", 100))


def test_follow_log_stops_at_the_cap_and_at_a_refused_log(job: Path) -> None:
    live = JobFilePath(job, "volume/logs/algorithm.log")
    stored = JobFilePath(job, "volume/logs/stored.log")

    async def follow(cap: int) -> bytes:
        chunks = follow_log("j", live, stored, lambda: "running", JobEvents(), cap=cap)
        return b"".join([chunk async for chunk in chunks])

    assert asyncio.run(follow(8)) == b"line\nlin\n[truncated: log longer than 8 bytes]\n"
    (job / "volume" / "logs" / "algorithm.log").unlink()
    os.symlink("/dev/zero", job / "volume" / "logs" / "algorithm.log")
    assert asyncio.run(follow(1 << 20)).startswith(b"[log not shown")


def test_one_inotify_instance_serves_every_watch(tmp_path: Path) -> None:
    watched = tmp_path / "log"
    watched.write_bytes(b"")
    hub = Inotify()
    woken = [threading.Event() for _ in range(3)]
    with watched.open("rb") as handle:
        unwatches = [hub.watch(handle.fileno(), event.set) for event in woken]
        assert all(unwatch is not None for unwatch in unwatches)
        assert hub.watches() == 1  # one inode, one kernel watch
        with watched.open("ab") as writer:
            writer.write(b"more")
        for event in woken:
            assert event.wait(timeout=30)
        for unwatch in unwatches:
            assert unwatch is not None
            unwatch()
        assert hub.watches() == 0
