"""Sparse outputs stay sparse in outputs.tar, and GNU tar and Python's tarfile restore them."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from steps import sparse
from steps.archive import archive_outputs

_MIB = 2**20


def _sparse(path: Path, size: int, writes: dict[int, bytes]) -> bytes:
    """A file of ``size`` with data only at ``writes``; returns its full content."""
    with path.open("wb") as out:
        out.truncate(size)
        for offset, data in writes.items():
            out.seek(offset)
            out.write(data)
    return path.read_bytes()


def _pack(outputs: Path) -> bytes:
    buffer = io.BytesIO()
    archive_outputs(outputs, buffer, cap_bytes=2**30, log=lambda _: None)
    return buffer.getvalue()


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    (folder / "sub").mkdir(parents=True)
    return folder


def test_holes_cost_nothing_and_both_tars_restore_the_files(outputs: Path, tmp_path: Path) -> None:
    expected = {
        "sub/middle.bin": _sparse(outputs / "sub/middle.bin", 40 * _MIB, {10 * _MIB: b"m" * 5000}),
        "ends-in-hole.bin": _sparse(outputs / "ends-in-hole.bin", 8 * _MIB, {0: b"start"}),
        "only-hole.bin": _sparse(outputs / "only-hole.bin", 30 * _MIB, {}),
        "dense.txt": b"plain",
    }
    (outputs / "dense.txt").write_bytes(b"plain")
    packed = _pack(outputs)
    assert len(packed) < 64 * 1024  # 78 MiB of apparent size
    (tmp_path / "outputs.tar").write_bytes(packed)
    with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
        names = {m.name: m for m in tar.getmembers() if m.isreg()}
        assert set(names) == set(expected)
        for name, content in expected.items():
            body = tar.extractfile(names[name])
            assert body is not None and body.read() == content, name
        # A plain file is a plain member: any tar reader gets it.
        assert not names["dense.txt"].sparse
    restored = tmp_path / "gnu"
    restored.mkdir()
    subprocess.run(["tar", "-C", str(restored), "-xf", str(tmp_path / "outputs.tar")], check=True)
    for name, content in expected.items():
        assert (restored / name).read_bytes() == content, name


def test_beyond_the_extent_map_the_rest_is_stored_whole(
    outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sparse, "MAX_EXTENTS", 2)
    writes = {i * _MIB: b"x" * 10 for i in range(4)}
    content = _sparse(outputs / "many.bin", 4 * _MIB, writes)
    packed = _pack(outputs)
    # The first extent alone, then the rest (3 MiB) as one: still exact, no longer small.
    assert 3 * _MIB < len(packed) < 4 * _MIB
    with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
        body = tar.extractfile("many.bin")
        assert body is not None and body.read() == content


def test_a_sparse_file_counts_at_what_it_stores_against_the_cap(outputs: Path) -> None:
    _sparse(outputs / "big.bin", 100 * _MIB, {50 * _MIB: b"data"})
    buffer = io.BytesIO()
    report = archive_outputs(outputs, buffer, cap_bytes=_MIB, log=lambda _: None)
    assert report.files == 1 and not report.capped and report.archived_bytes < _MIB
    assert os.path.getsize(outputs / "big.bin") == 100 * _MIB
