"""The API user: which uid ``c2d serve`` drops to, what of ``C2D_HOME`` it may use, the drop.

Who owns what once the home is prepared (by root, before the helper starts):

- ``C2D_HOME``: root, group the API's, 0750 (the API reads DDOs and the dev chain's file);
- ``provider.key``: the API user, 0600 (generated here when missing); ``chain/`` (the dev
  chain's record) and ``published/``: the API user's;
- ``state/``: root, group the API's, 01770 (sticky): the API creates and owns its SQLite files
  there and cannot rename or delete the helper's ``jobs.sqlite`` (root, 0600); a
  ``jobs.sqlite`` or journal of it that is not root's plain file (a link, a planted journal)
  is deleted before the helper opens it;
- ``run/``: root, group the API's, 0750, holding ``helper.sock`` (the API user, 0600);
- ``jobs/``, ``results/``, ``images/``: root, 0700, the helper's alone.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from provider.errors import ConfigError

__all__ = [
    "DEFAULT_USER",
    "FALLBACK_ID",
    "ApiUser",
    "drop_privileges",
    "prepare_home",
    "resolve_api_user",
]

DEFAULT_USER = "c2d"
# Used when no ``c2d`` user exists: the uid and gid distroless images call "nonroot".
FALLBACK_ID = 65532
_API_DB_FILES = ("provider.sqlite", "payments.sqlite", "index.sqlite", "publications.sqlite")
_SIDECARS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class ApiUser:
    uid: int
    gid: int
    name: str


def resolve_api_user(setting: str | None) -> ApiUser:
    """``C2D_API_USER``: a user name, ``uid`` or ``uid:gid``; unset: ``c2d``, else 65532."""
    if setting is None:
        with contextlib.suppress(KeyError):
            return _named(DEFAULT_USER)
        return ApiUser(FALLBACK_ID, FALLBACK_ID, str(FALLBACK_ID))
    uid_text, _, gid_text = setting.partition(":")
    if uid_text.isdigit() and (not gid_text or gid_text.isdigit()):
        uid = int(uid_text)
        gid = int(gid_text) if gid_text else _primary_gid(uid)
        user = ApiUser(uid, gid, setting)
    else:
        try:
            user = _named(setting)
        except KeyError:
            raise ConfigError(
                f"C2D_API_USER: no user {setting!r} on this machine; create it"
                f" (useradd --system --no-create-home {setting}) or give a uid[:gid]"
            ) from None
    if user.uid == 0 or user.gid == 0:
        raise ConfigError("C2D_API_USER: the API must not run as root (uid or gid 0)")
    return user


def _named(name: str) -> ApiUser:
    entry = pwd.getpwnam(name)
    return ApiUser(entry.pw_uid, entry.pw_gid, name)


def _primary_gid(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid


def prepare_home(home: Path, user: ApiUser) -> None:
    """Give ``home`` the owners and modes above (as root; ``home`` absolute)."""
    for folder, mode in ((home, 0o750), (home / "state", 0o1770), (home / "run", 0o750)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 0, user.gid, follow_symlinks=False)
        os.chmod(folder, mode, follow_symlinks=False)
    (home / "assets").mkdir(exist_ok=True)
    # The dev chain's record (devkit's `c2d chain up`, as root): the API serves that chain.
    chain = home / "chain"
    if chain.is_dir() and not chain.is_symlink():
        os.chown(chain, user.uid, user.gid, follow_symlinks=False)
        for entry in chain.iterdir():
            if _regular(entry):
                os.chown(entry, user.uid, user.gid, follow_symlinks=False)
    # Outputs published as assets (provider/assets/results.py): the API keeps and serves them.
    published = home / "published"
    published.mkdir(mode=0o700, exist_ok=True)
    if not published.is_symlink():
        os.chown(published, user.uid, user.gid, follow_symlinks=False)
    key = home / "provider.key"
    for path in (key, *(home / "state" / f"{n}{s}" for n in _API_DB_FILES for s in _SIDECARS)):
        if _regular(path):
            os.chown(path, user.uid, user.gid, follow_symlinks=False)
    for suffix in _SIDECARS:
        _root_only(home / "state" / f"jobs.sqlite{suffix}")


def _root_only(path: Path) -> None:
    """The helper's database and journals: root's alone. Anything else of that name (a link,
    a journal another user planted for root's SQLite to replay) is deleted first."""
    with contextlib.suppress(FileNotFoundError):
        if not _regular(path) or os.lstat(path).st_uid != 0:
            path.unlink()
            return
        os.chown(path, 0, 0, follow_symlinks=False)
        os.chmod(path, 0o600, follow_symlinks=False)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def drop_privileges(user: ApiUser) -> None:
    """Become ``user`` for good (all ids, no supplementary groups)."""
    os.setgroups([])
    os.setgid(user.gid)
    os.setuid(user.uid)
    if 0 in (os.getuid(), os.geteuid(), os.getgid(), os.getegid()):
        raise ConfigError("could not drop root privileges")
