"""prepare_home (provider/privsep/user.py): what root sets in C2D_HOME before the split."""

from __future__ import annotations

import os
from pathlib import Path

from provider.privsep.user import ApiUser, prepare_home

API = ApiUser(4321, 4321, "4321")


def _owner_mode(path: Path) -> tuple[int, int, int]:
    info = os.lstat(path)
    return info.st_uid, info.st_gid, info.st_mode & 0o7777


def test_the_home_is_split_between_root_and_the_api_user(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True)
    (home / "provider.key").write_text("0x" + "11" * 32)
    (home / "state" / "provider.sqlite").write_bytes(b"")
    (home / "state" / "jobs.sqlite").write_bytes(b"root's")
    (home / "state" / "jobs.sqlite-wal").write_bytes(b"a crash's journal, root's")
    prepare_home(home, API)
    assert _owner_mode(home) == (0, API.gid, 0o750)
    assert _owner_mode(home / "state") == (0, API.gid, 0o1770)
    assert _owner_mode(home / "run") == (0, API.gid, 0o750)
    assert _owner_mode(home / "provider.key")[:2] == (API.uid, API.gid)
    assert _owner_mode(home / "state" / "provider.sqlite")[:2] == (API.uid, API.gid)
    assert _owner_mode(home / "state" / "jobs.sqlite") == (0, 0, 0o600)
    # A root journal left by a crash is what SQLite recovers from: it stays.
    assert (home / "state" / "jobs.sqlite-wal").read_bytes() == b"a crash's journal, root's"


def test_what_another_user_planted_for_the_helper_is_deleted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = home / "state"
    state.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.write_text("not the helper's")
    (state / "jobs.sqlite").symlink_to(target)
    journal = state / "jobs.sqlite-journal"
    journal.write_bytes(b"a hot journal to replay into root's database")
    os.chown(journal, API.uid, API.gid)
    prepare_home(home, API)
    assert not os.path.lexists(state / "jobs.sqlite")
    assert not journal.exists()
    assert target.read_text() == "not the helper's"
    assert _owner_mode(target)[0] == os.getuid()
