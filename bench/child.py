"""A bench part run as its own Python process: ``python -m MODULE SPEC.json`` → JSON on stdout,
so its CPU is not the measured process's and its GIL is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["run_module"]


def run_module(module: str, spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, handle.name],
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        )
    finally:
        Path(handle.name).unlink()
    result: dict[str, Any] = json.loads(done.stdout)
    return result
