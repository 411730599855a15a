"""Running an ocean.js check script (tests/e2e/js/*.mjs) with node against a provider."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "e2e" / "js"
JS_DIR = REPO / "js"


def run_oceanjs(script: str, env: dict[str, str]) -> dict[str, Any]:
    """The script's JSON summary (its last stdout line); it must exit 0 (its output if not)."""
    assert (JS_DIR / "node_modules" / "@oceanprotocol" / "lib").is_dir(), (
        "run `make test` (npm ci in js/)"
    )
    done = subprocess.run(
        ["node", str(SCRIPTS / script)],
        env={**os.environ, **env, "C2D_JS_DIR": str(JS_DIR)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary
