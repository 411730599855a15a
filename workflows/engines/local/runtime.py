"""What the sandbox may show an algorithm for one container image, and what this machine offers."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

__all__ = ["Runtime", "SandboxUnavailable", "require_sandbox_tools"]

_TOOLS = ("bwrap", "setpriv")


class SandboxUnavailable(Exception):
    """The local engine cannot sandbox algorithms here; it refuses to start rather than run them
    unsandboxed."""


@dataclass(frozen=True)
class Runtime:
    """A local stand-in for a container image: read-only host paths and a PATH.

    ``commands`` adds names (e.g. ``python`` → ``/usr/bin/python3``) that images provide and the
    host may not, as symlinks in a directory on the sandbox's PATH.
    """

    binds: tuple[str, ...] = ("/usr",)
    path: str = "/usr/local/bin:/usr/bin:/bin"
    commands: dict[str, str] = field(default_factory=dict)


def require_sandbox_tools() -> dict[str, str]:
    """Absolute paths of the programs the sandbox is built with, or SandboxUnavailable."""
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "the local engine must run as root: it builds each sandbox's mounts in a private"
            " mount namespace before dropping to an unprivileged uid"
        )
    found = {tool: shutil.which(tool) for tool in _TOOLS}
    if found["bwrap"] is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and c2d never runs an algorithm unsandboxed;"
            " install it with `sudo apt-get install -y bubblewrap` (or run `make install`)"
        )
    missing = sorted(tool for tool, path in found.items() if path is None)
    if missing:
        raise SandboxUnavailable(
            f"missing {', '.join(missing)} (util-linux); install it with"
            " `sudo apt-get install -y util-linux`"
        )
    return {tool: path for tool, path in found.items() if path is not None}
