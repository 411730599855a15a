"""The stage layer's helper (root, forked once per algorithm) loads only what staging needs: no
engine, no HTTP or chain libraries, no hera. Less to exploit in a root process, and a smaller
process forks faster."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = (
    "import json, sys\n"
    "import workflows.engines.local.stage as stage\n"
    "stage.prepare()\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_importing_the_stage_layer_loads_no_engine_and_no_network_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    roots = {name.split(".")[0] for name in loaded}
    assert not roots & {"hera", "httpx", "pydantic", "web3", "eth_account", "provider", "steps"}
    assert "workflows.engines.local.engine" not in loaded
