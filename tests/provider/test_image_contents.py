"""The image holds only the packages its Dockerfile copies (no devkit, bench or tests): every
provider module imports without them, and the consumer's commands are offered and run.

No Docker engine here: the commands run with the packages the image lacks made unimportable."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OURS = ("provider", "workflows", "steps", "devkit", "bench", "tests")
KEY = "11" * 32


def _in_image() -> set[str]:
    dockerfile = (REPO / "Dockerfile").read_text()
    return set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))


def _without_the_rest(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    """``code`` run by a Python where our packages the image lacks cannot be imported."""
    missing = [name for name in OURS if name not in _in_image()]
    prelude = f"import sys\nfor name in {missing!r}:\n    sys.modules[name] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd="/",
    )
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_the_image_copies_the_service_and_not_devkit() -> None:
    assert _in_image() == {"provider", "workflows", "steps"}


def test_every_provider_module_imports_without_devkit() -> None:
    code = (
        "import importlib, pkgutil, provider\n"
        "for info in pkgutil.walk_packages(provider.__path__, 'provider.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('imported')\n"
    )
    out = _without_the_rest(code)
    assert out.startswith("exit 0\nimported"), out


def test_the_consumer_commands_are_offered_and_run_without_devkit() -> None:
    run_c2d = "from provider.cli import main\nsys.argv[0] = 'c2d'\nsys.exit(main())\n"
    usage = _without_the_rest(run_c2d, "--help")
    assert usage.startswith("exit 0"), usage
    for command in ("submit", "get", "list", "stop", "logs", "results"):
        assert re.search(rf"^\s+{command}\s", usage, flags=re.MULTILINE), (command, usage)
    with socket.socket() as probe:  # a port nothing listens on: the client runs, then fails
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    job = "ab" * 16
    for argv in (("stop", job), ("list",), ("logs", job), ("get", job)):
        out = _without_the_rest(run_c2d, *argv, "--provider", url, env={"C2D_CONSUMER_KEY": KEY})
        assert f"cannot reach the provider at {url}" in out, (argv, out)
        assert "Traceback" not in out and "devkit" not in out, (argv, out)
