"""What each test folder needs, as markers, and a skip (or, in CI, a failure) when it is missing.

``make unit`` runs the tests with none of these markers: no root, no sandbox, no chain, no node.
Markers are given here per folder or module, longest path first, so a new test file in a folder
inherits its folder's needs. ``C2D_TESTS_REQUIRE_ALL=1`` (set by ``.ci/run``) turns a skip for
a missing need into a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from devkit.artifacts import ANVIL_BINARY
from tests.postgres_server import PostgresServer, postgres_missing
from tests.storage_servers import S3Server

_TESTS = Path(__file__).resolve().parent
_JS = _TESTS.parent / "js" / "node_modules"

E2E = ("e2e", "sandbox", "root")  # a real `c2d serve`: the local engine needs all of it
ENGINE = ("sandbox", "root")  # a LocalEngine that runs steps and sandboxes
CHAIN = ("chain", "node", *E2E)

# Path under tests/ (a folder or a module) → its markers. Unlisted paths need nothing.
NEEDS: dict[str, tuple[str, ...]] = {
    "e2e": E2E,
    "e2e/test_oceanjs.py": (*E2E, "node"),
    "e2e/test_replicas.py": (*E2E, "postgresql"),
    "attacks": E2E,
    "faults": E2E,
    "chain": CHAIN,
    "devkit/test_abis.py": ("chain",),
    "docs": (*E2E, "node"),
    "fuzz/test_api_schema.py": E2E,
    "fuzz/test_http_limits.py": E2E,
    "provider/test_cli.py": ("e2e",),
    "ui/test_browser.py": (*E2E, "browser"),
    "provider/statedb": ("postgresql",),
    "steps/test_sigterm.py": ("root",),
    "image": ("image", "root", "sandbox"),
    "provider/test_privsep_home.py": ("root",),
    "workflows/test_engine_queue.py": ENGINE,
    "workflows/test_local_engine.py": ENGINE,
}


def _needs(path: Path) -> tuple[str, ...]:
    relative = path.resolve().relative_to(_TESTS).as_posix()
    for prefix in sorted(NEEDS, key=len, reverse=True):
        if relative == prefix or relative.startswith(prefix + "/"):
            return NEEDS[prefix]
    return ()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in _needs(item.path):
            item.add_marker(name)


def _root() -> str | None:
    return None if os.geteuid() == 0 else "needs root (mount namespaces, loop devices, cgroups)"


def _sandbox() -> str | None:
    missing = [tool for tool in ("bwrap", "setpriv") if shutil.which(tool) is None]
    return f"needs {' and '.join(missing)} on PATH (the sandbox)" if missing else None


def _node() -> str | None:
    if shutil.which("node") is None:
        return "needs node on PATH"
    if not _JS.is_dir():
        return "needs js/node_modules (`make test` or `npm ci` in js/)"
    return None


def _chain() -> str | None:
    if not (_JS / ANVIL_BINARY).exists():
        return f"needs js/node_modules/{ANVIL_BINARY} (`npm ci` in js/)"
    return None


# Debian's Chromium, driven by Playwright: never a browser that `playwright install` downloads.
CHROMIUM = Path("/usr/bin/chromium")


def _browser() -> str | None:
    if not CHROMIUM.exists():
        return f"needs {CHROMIUM} (`make test` installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (requirements-dev.lock)"
    return None


def _image() -> str | None:
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    return f"needs {' and '.join(missing)} on PATH (`make test` installs them)" if missing else None


_CHECKS: dict[str, Callable[[], str | None]] = {
    "root": _root,
    "sandbox": _sandbox,
    "node": _node,
    "chain": _chain,
    "browser": _browser,
    "image": _image,
    "postgresql": postgres_missing,
}


def missing_need(reason: str) -> NoReturn:
    """Skip the test for want of ``reason``; fail it under ``C2D_TESTS_REQUIRE_ALL=1``."""
    if os.environ.get("C2D_TESTS_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason}, and C2D_TESTS_REQUIRE_ALL=1 forbids skipping")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, check in _CHECKS.items():
        if item.get_closest_marker(name) is None:
            continue
        reason = check()
        if reason is not None:
            missing_need(reason)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """ministack on loopback (SigV4 checked) with a bucket ``results``; started on first use."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.s3.create_bucket(Bucket="results")
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on loopback; started on first use."""
    server = PostgresServer()
    yield server
    server.close()
