"""The quota image pool: fresh images made ahead, each used once, spares gone at close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from workflows.engines.local.imagepool import ImagePool


class _Maker:
    def __init__(self) -> None:
        self.made: list[Path] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path, limit_bytes: int) -> None:
        path.write_bytes(f"fresh {limit_bytes}".encode())
        with self.lock:
            self.made.append(path)


def _wait_for_spares(folder: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(list(folder.glob("*.img"))) < count:
        assert time.monotonic() < deadline, "the pool never made its spares"
        time.sleep(0.01)


def test_images_are_made_ahead_and_never_handed_out_twice(tmp_path: Path) -> None:
    folder = tmp_path / "pool"
    maker = _Maker()
    pool = ImagePool(maker, spares=2)
    try:
        assert pool.take(folder, 1024, tmp_path / "first.img") is False
        _wait_for_spares(folder, 2)
        handed: set[str] = set()
        for n in range(4):
            destination = tmp_path / f"job{n}.img"
            if pool.take(folder, 1024, destination):
                assert destination.read_bytes() == b"fresh 1024"
                handed.add(destination.name)
            _wait_for_spares(folder, 2)
        assert handed, "no spare was ever taken"
        assert len(maker.made) == len(set(maker.made)), "an image path was made twice"
    finally:
        pool.close()
    assert list(folder.glob("*.img")) == []


def test_leftovers_of_an_earlier_run_are_not_handed_out(tmp_path: Path) -> None:
    folder = tmp_path / "pool"
    folder.mkdir()
    stale = folder / "0-1024.img"
    stale.write_bytes(b"data of an earlier job")
    pool = ImagePool(_Maker(), spares=1)
    try:
        destination = tmp_path / "job.img"
        deadline = time.monotonic() + 30
        while not pool.take(folder, 1024, destination):
            assert time.monotonic() < deadline, "the pool never made a spare"
            time.sleep(0.01)
        assert destination.read_bytes() == b"fresh 1024"
    finally:
        pool.close()
