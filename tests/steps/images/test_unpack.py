"""Hostile layers, made by hand with tarfile: nothing lands outside the root, each is refused
with a reason, and what is kept is what an image means (whiteouts, links as links)."""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from pathlib import Path

import pytest
import zstandard

from steps.images.unpack import UnpackCaps, UnpackError, unpack_layers
from tests.steps.images.oci import entry, layer, zstd_layer


def _unpack(tmp_path: Path, *layers: bytes, caps: UnpackCaps | None = None) -> Path:
    root = tmp_path / "cache" / "rootfs"
    root.mkdir(parents=True)
    paths = []
    for i, data in enumerate(layers):
        path = tmp_path / f"layer{i}"
        path.write_bytes(data)
        paths.append(path)
    unpack_layers(paths, root, caps or UnpackCaps())
    return root


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([entry("../outside/escaped", b"x")], "climbs out"),
        ([entry("a/../../outside/escaped", b"x")], "climbs out"),
        (
            [entry("etc", type=tarfile.SYMTYPE, linkname="/etc"), entry("etc/c2d-escape", b"x")],
            "not a folder",
        ),
        (
            [
                entry("up", type=tarfile.SYMTYPE, linkname="../outside"),
                entry("up/escaped", b"x"),
            ],
            "not a folder",
        ),
        ([entry("passwd", type=tarfile.LNKTYPE, linkname="../outside/target")], "climbs out"),
        ([entry("passwd", type=tarfile.LNKTYPE, linkname="/etc/passwd")], "missing file"),
        ([entry(".wh..", b"")], "names no entry"),
        ([entry("usr/.wh...", b"")], "names no entry"),
    ],
)
def test_a_hostile_entry_is_refused_and_nothing_is_written_outside(
    tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]], reason: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "target").write_bytes(b"host secret")
    with pytest.raises(UnpackError, match=reason):
        _unpack(tmp_path, layer(entry("usr", type=tarfile.DIRTYPE), *entries))
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["target"]
    assert not list(Path("/etc").glob("c2d-escape*"))
    assert (tmp_path / "outside" / "target").stat().st_nlink == 1


def test_absolute_symlinks_stay_links_and_devices_and_setuid_bits_go(tmp_path: Path) -> None:
    root = _unpack(
        tmp_path,
        layer(
            entry("bin", type=tarfile.DIRTYPE, mode=0o755),
            entry("bin/su", b"#!", mode=0o4755),
            entry("bin/wall", b"#!", mode=0o2755),
            entry("etc-link", type=tarfile.SYMTYPE, linkname="/etc"),
            entry("dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0),
            entry("dev/mem", type=tarfile.CHRTYPE, devmajor=1, devminor=1),
            entry("fifo", type=tarfile.FIFOTYPE),
            entry("bin/su2", type=tarfile.LNKTYPE, linkname="bin/su"),
        ),
    )
    assert os.readlink(root / "etc-link") == "/etc"
    assert stat.S_IMODE((root / "bin/su").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "bin/wall").stat().st_mode) == 0o755
    assert (root / "bin/su2").stat().st_ino == (root / "bin/su").stat().st_ino
    assert not (root / "dev/sda").exists() and not (root / "dev/mem").exists()
    assert not (root / "fifo").exists()


def test_whiteouts_delete_from_the_layers_below(tmp_path: Path) -> None:
    root = _unpack(
        tmp_path,
        layer(
            entry("a/old", b"1"),
            entry("a/kept", b"1"),
            entry("b/old", b"1"),
            entry("c/gone", b"1"),
        ),
        layer(
            entry("a/.wh.old"),
            entry("b/new", b"2"),
            entry("b/sub/deep", b"2"),
            entry("b/.wh..wh..opq"),
            entry(".wh.c"),
        ),
    )
    assert sorted(p.name for p in (root / "a").iterdir()) == ["kept"]
    assert sorted(p.name for p in (root / "b").iterdir()) == ["new", "sub"]  # this layer's
    assert not (root / "c").exists()


_COMPRESS = {
    "gzip": lambda data: gzip.compress(data, 9),
    "zstd": lambda data: zstandard.ZstdCompressor(level=19).compress(data),
}


@pytest.mark.parametrize("compression", list(_COMPRESS))
def test_a_decompression_bomb_stops_at_the_cap(tmp_path: Path, compression: str) -> None:
    compress = _COMPRESS[compression]
    raw = tarfile.TarInfo("zeros")
    raw.size = 64 * 2**20
    bomb = compress(raw.tobuf(format=tarfile.PAX_FORMAT) + bytes(raw.size))
    assert len(bomb) < 100_000
    with pytest.raises(UnpackError, match="more than 1048576 bytes"):
        _unpack(tmp_path, bomb, caps=UnpackCaps(max_bytes=2**20))
    # No file is big, but an 8 MiB extended header (read whole by tarfile): the stream cap.
    header = _pax_header(8 * 2**20)
    with pytest.raises(UnpackError, match="decompresses to more than"):
        _unpack(tmp_path / "pax", compress(header), caps=UnpackCaps(max_bytes=0, max_files=1))
    many = layer(*(entry(f"f{i}", b"") for i in range(50)))
    with pytest.raises(UnpackError, match="more than 10 entries"):
        _unpack(tmp_path / "2", many, caps=UnpackCaps(max_files=10))


def _pax_header(size: int) -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT) + bytes(size)


def test_files_keep_the_time_of_the_image_so_its_bytecode_stays_valid(tmp_path: Path) -> None:
    when = 1_600_000_000
    root = _unpack(
        tmp_path,
        layer(
            entry("lib/mod.py", b"X = 1\n", mtime=when),
            entry("lib/link", type=tarfile.SYMTYPE, linkname="mod.py", mtime=when + 1),
            entry("lib/sub", type=tarfile.DIRTYPE, mode=0o755, mtime=when + 2),
        ),
    )
    assert (root / "lib/mod.py").stat().st_mtime == when
    assert (root / "lib/link").lstat().st_mtime == when + 1
    assert (root / "lib/sub").stat().st_mtime == when + 2


def test_a_zstd_layer_unpacks_as_a_gzip_one(tmp_path: Path) -> None:
    root = _unpack(
        tmp_path,
        layer(entry("a/kept", b"from gzip"), entry("a/gone", b"x")),
        zstd_layer(entry("a/.wh.gone"), entry("a/new", b"from zstd")),
    )
    assert (root / "a" / "kept").read_bytes() == b"from gzip"
    assert (root / "a" / "new").read_bytes() == b"from zstd"
    assert not (root / "a" / "gone").exists()


def test_garbage_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(UnpackError, match="not a readable tar"):
        _unpack(tmp_path, gzip.compress(b"not a tar" * 100))
