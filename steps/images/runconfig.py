"""What an image's config asks of the sandbox: Env, WorkingDir, and the User's numeric ids.

A user name is looked up in the image's own ``/etc/passwd``, opened one component at a time
without following links (the file is the image's, and an image may make it a link to the
host's), and read with a cap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from steps.images.registry import PullError
from steps.images.unpack import open_dir

__all__ = ["image_env", "image_user"]

_PASSWD_BYTES = 1 << 20


def image_env(config: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    env = []
    for item in config.get("Env") or []:
        if isinstance(item, str) and "=" in item:
            name, _, value = item.partition("=")
            if name and "\0" not in item:
                env.append((name, value))
    return tuple(env)


def image_user(rootfs: Path, config: dict[str, Any]) -> tuple[int, int] | None:
    """The ids ``User`` names; None for root or no user (the sandbox's own uid then)."""
    user = str(config.get("User") or "")
    if not user:
        return None
    name, _, group = user.partition(":")
    uid = int(name) if name.isdigit() else None
    gid = int(group) if group.isdigit() else None
    if uid is None or (group and gid is None):
        entries = _passwd(rootfs, "passwd")
        if uid is None:
            if name not in entries:
                raise PullError(f"the image's user {name!r} is not in its /etc/passwd")
            uid, default_gid = entries[name]
            gid = gid if gid is not None else default_gid
        if group and gid is None:
            groups = _passwd(rootfs, "group")
            if group not in groups:
                raise PullError(f"the image's group {group!r} is not in its /etc/group")
            gid = groups[group][0]
    return None if uid == 0 else (uid, uid if gid is None else gid)


def _passwd(rootfs: Path, file: str) -> dict[str, tuple[int, int]]:
    """``name → (id, group id)`` of /etc/passwd (group: ``name → (gid, gid)``); {} if absent."""
    root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        etc = open_dir(root_fd, ("etc",), create=False, name="/etc")
        if etc is None:
            return {}
        try:
            fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=etc)
        except OSError:
            return {}
        finally:
            os.close(etc)
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(_PASSWD_BYTES).decode(errors="replace")
    finally:
        os.close(root_fd)
    found: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            gid = fields[3] if file == "passwd" and len(fields) > 3 else fields[2]
            found[fields[0]] = (int(fields[2]), int(gid) if gid.isdigit() else int(fields[2]))
    return found
