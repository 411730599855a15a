"""Running ``c2d submit`` as a user does (its own process) and reading what it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from eth_account.signers.local import LocalAccount

from tests.docs.blocks import doc_blocks, run_shell, shell_env

__all__ = ["TX", "assert_refused", "doc_block", "run_doc_block", "submit_cli"]

_REPO = Path(__file__).resolve().parents[2]

# A transaction line of a paid submit: what, its hash, the gas it used.
TX = re.compile(r"^(?P<what>[^:]+): tx (?P<tx>0x[0-9a-f]{64}) gas (?P<gas>[0-9,]+)$", re.M)


def submit_cli(
    consumer: LocalAccount, provider: str, *argv: str, home: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2D_")}
    env |= {"C2D_CONSUMER_KEY": consumer.key.hex(), "C2D_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", "submit", "--provider", provider, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    """One line on stderr, exit code 2, no transaction sent, no job started."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") <= 2, done.stderr  # the price line, then the refusal
    assert done.stderr.splitlines()[-1].startswith("c2d: ")
    assert message in done.stderr, done.stderr
    assert TX.search(done.stderr) is None


def doc_block(doc: str, needle: str) -> str:
    """The doc's one shell block that holds ``needle``."""
    (block,) = [b for b in doc_blocks(_REPO / doc, doc) if needle in b.code]
    return block.code


def run_doc_block(
    code: str, env: dict[str, str], *, home: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a doc's block as a user would, with ``env`` besides ``C2D_HOME``."""
    return run_shell(code, cwd, {**shell_env(home), **env}, timeout=600)
