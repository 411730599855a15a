"""Before the local engine starts: every runtime's binds and commands exist on this machine.

A runtime that names a missing path is accepted by the config's schema (the file may be meant
for another machine, or for the Argo engine), but on this machine the sandbox would fail every
job on it; the provider refuses to start instead, naming the environment and the field.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from provider.environments import ProviderConfig, RuntimeConfig
from provider.errors import ConfigError
from workflows.contract import ALGORITHM_UID

__all__ = ["check_local_runtimes"]


def check_local_runtimes(config: ProviderConfig, source: Path | None) -> None:
    """ConfigError for the first bind or command the sandbox could not set up here."""
    where = f"config file {source}" if source else "the built-in config"
    for e, env in enumerate(config.environments):
        for r, runtime in enumerate(env.runtimes):
            problem = _runtime_problem(runtime)
            if problem is not None:
                field, text = problem
                raise ConfigError(
                    f"{where}: environments.{e}.runtimes.{r}.{field} (environment {env.id}):"
                    f" {text}; every job on it would fail"
                )


def _runtime_problem(runtime: RuntimeConfig) -> tuple[str, str] | None:
    for bind in runtime.binds:
        if not os.path.isdir(bind):
            return "binds", f"{bind} is no directory on this machine"
        closed = _closed_folder(os.path.realpath(bind))
        if closed is not None:
            return "binds", (
                f"{bind} is closed to the sandbox's user (uid {ALGORITHM_UID}):"
                f" {closed} does not let it in"
            )
    # The sandbox shows the host's binds at the same place: a command must resolve inside one.
    binds = [os.path.realpath(bind) for bind in runtime.binds]
    for name, target in sorted(runtime.commands.items()):
        field = f"commands.{name}"
        if not os.path.isabs(target):
            return field, f"{target} is no absolute path"
        resolved = os.path.realpath(target)
        if not (os.path.isfile(resolved) and os.access(resolved, os.X_OK)):
            return field, f"{target} is no executable file on this machine"
        if not any(os.path.commonpath([bind, resolved]) == bind for bind in binds):
            return field, f"{target} is outside the runtime's binds ({', '.join(runtime.binds)})"
    return None


def _closed_folder(path: str) -> str | None:
    """The first folder on ``path`` (from /) the sandbox's user may not enter, else None.

    bwrap binds as that user (it runs after the drop to it), so it must reach every folder.
    """
    folder = "/"
    for part in [*Path(path).parts[1:], None]:
        info = os.stat(folder)
        if info.st_uid == ALGORITHM_UID:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == ALGORITHM_UID:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
        if part is None:
            return None
        folder = os.path.join(folder, part)
    return None
