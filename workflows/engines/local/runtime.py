"""What the sandbox may show an algorithm for one container image, and what this machine offers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from workflows.spec import JobSpec

__all__ = [
    "ImageSource",
    "PullFailed",
    "PulledImage",
    "Runtime",
    "SandboxUnavailable",
    "require_sandbox_tools",
]

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
    # A pulled image instead (no binds): its unpacked root, bound read-only as /, and what its
    # config asks for: Env (before the job's own), WorkingDir, and a non-root User's ids (the
    # host uid stays the unprivileged sandbox one; only the ids inside its namespace change).
    root: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    user: tuple[int, int] | None = None


class PullFailed(Exception):
    """The algorithm's image could not be pulled; the message is the job's reason."""


@dataclass(frozen=True)
class PulledImage:
    """An image a job uses: ``release`` once the job no longer needs its root."""

    runtime: Runtime
    description: str
    release: Callable[[], None]


class ImageSource(Protocol):
    """Images pulled from registries, for environments that accept them (provider/images.py)."""

    def accepts(self, spec: JobSpec) -> bool:
        """Whether this job's image comes from a registry (else: a host runtime or refused)."""
        ...

    def acquire(self, spec: JobSpec, progress: Callable[[str], None]) -> PulledImage:
        """The image's root, pulled if not cached, or PullFailed; ``progress`` gets a line per
        step of the pull (layers, bytes done of total) for the job's configure log."""
        ...

    def stats(self) -> object:
        """What the cache counted, for /metrics (hits, pulls, fetched_bytes, pull_seconds)."""
        ...


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
