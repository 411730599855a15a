"""The step server (which forks one child per configure or publish) loads no asyncio: the steps
are blocking code, and every module it holds is copied into each child's page tables."""

from __future__ import annotations

import json
import subprocess
import sys

from workflows.engines.local._zygote import PRELOADED

_PROBE = (
    "import importlib, json, sys\n"
    f"for name in {PRELOADED!r}:\n"
    "    importlib.import_module(name)\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_the_trusted_steps_load_no_asyncio_and_no_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    roots = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not roots & {"asyncio", "hera", "provider", "web3"}
