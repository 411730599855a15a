"""Result storage caps: what all stored results may take, per environment and on the host.

The local engine hands publish the caps in its environment (``RESULT_STORAGE_ENV``: host bytes;
``ENVIRONMENT_STORAGE_ENV``: a JSON object environment id → bytes). Publish stages a job's
result files under temporary names, then, holding result storage's lock, reads what the
committed results take (the totals of ``workflows/result_usage.py``: allocated blocks, so a
sparse file counts at what it really holds) and commits its own only when they fit, adding
them to the totals; otherwise it removes them. Without caps in the environment (the Argo
engine: the result volume's size is the cap) nothing is counted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from steps._files import temp_name
from workflows.result_usage import locked_usage, read_mark, write_mark

__all__ = [
    "ENVIRONMENT_STORAGE_ENV",
    "RESULT_STORAGE_ENV",
    "StorageCaps",
    "StorageFull",
    "commit_within_caps",
]

RESULT_STORAGE_ENV = "C2D_RESULT_STORAGE_BYTES"
ENVIRONMENT_STORAGE_ENV = "C2D_ENVIRONMENT_RESULT_STORAGE"


class StorageFull(Exception):
    """The job's results do not fit a result storage cap (the message says which)."""


@dataclass(frozen=True)
class StorageCaps:
    host_bytes: int | None = None
    environment_bytes: Mapping[str, int] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StorageCaps:
        """The caps the engine set; ``ValueError`` when a value is malformed."""
        host = environ.get(RESULT_STORAGE_ENV)
        table = json.loads(environ.get(ENVIRONMENT_STORAGE_ENV) or "{}")
        if not isinstance(table, dict):
            raise ValueError(f"{ENVIRONMENT_STORAGE_ENV} must be a JSON object")
        caps = {str(env): int(limit) for env, limit in table.items()}
        return cls(int(host) if host else None, caps)

    def for_environment(self, environment: str) -> int | None:
        return (self.environment_bytes or {}).get(environment)

    @property
    def active(self) -> bool:
        return self.host_bytes is not None or bool(self.environment_bytes)


def commit_within_caps(
    folder: Path, names: Sequence[str], environment: str, caps: StorageCaps, reserve: int
) -> None:
    """Rename the staged ``names`` of ``folder`` into place if, with ``reserve`` bytes for what
    is still to come, all results fit the caps; else delete them and raise ``StorageFull``."""
    staged = [temp_name(folder / name) for name in names]
    if not caps.active:
        _commit(folder, names)
        return
    with locked_usage(folder.parent) as usage:
        # A publish run again (a restart) replaces what its first run counted.
        before = read_mark(folder)[1] or 0
        own = sum(_allocated(path) for path in staged)
        problem = _over(
            caps.host_bytes, usage.host - before, own + reserve, "the provider's result storage"
        )
        problem = problem or _over(
            caps.for_environment(environment),
            usage.environment(environment) - before,
            own + reserve,
            f"the result storage of environment {environment}",
        )
        if problem:
            for path in staged:
                path.unlink(missing_ok=True)
            raise StorageFull(problem)
        _commit(folder, names)
        write_mark(folder, environment, own)
        usage.add(environment, own - before)


def _over(cap: int | None, used: int, own: int, what: str) -> str:
    if cap is None or used + own <= cap:
        return ""
    return f"results not stored: they need {own} bytes and {what} holds {used} of its {cap} bytes"


def _commit(folder: Path, names: Sequence[str]) -> None:
    for name in names:
        os.replace(temp_name(folder / name), folder / name)


def _allocated(path: Path) -> int:
    try:
        return os.lstat(path).st_blocks * 512
    except FileNotFoundError:
        return 0
