"""The shell blocks of the docs, and what each doc says about running them.

A fenced block tagged ``sh`` (or ``bash``, ``shell``) is a command to run as written. The line
just before it may say how, in an HTML comment a reader of the rendered page does not see:

- ``<!-- doc-test: skip: REASON -->`` — cannot run here (a cluster, Docker, a test run itself);
  the reason is required and is the allow-list, kept in the doc next to the command;
- ``<!-- doc-test: provider -->`` — runs with a provider on loopback: ``C2D_PROVIDER_URL`` and
  ``DATASET_URL`` (a CSV it may fetch) are set.

An untagged block that starts with a command is an error: it would never be run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "doc_blocks", "run_shell", "shell_env"]

_SHELL = {"sh", "bash", "shell"}
_MARK = re.compile(r"<!--\s*doc-test:\s*(skip|provider)\s*(?::\s*(.*?))?\s*-->")
_COMMAND = re.compile(
    r"^\s*(\$ )?(c2d|\.venv/\S+|make|kubectl|docker|curl|python3?|node|argo)(\s|$)"
)


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # of the opening fence, 1-based
    code: str
    mode: str  # "run", "provider", "skip" or "untagged" (commands the test cannot see: an error)
    reason: str = ""


def doc_blocks(path: Path, name: str) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("```"):
            index += 1
            continue
        tag = line[3:].strip()
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        code = "\n".join(lines[index + 1 : end])
        before = lines[index - 1] if index else ""
        mark = _MARK.search(before)
        if tag in _SHELL:
            mode, reason = ("run", "") if mark is None else (mark[1], mark[2] or "")
            blocks.append(Block(name, index + 1, code, mode, reason))
        elif tag == "" and code and _COMMAND.match(code.splitlines()[0]):
            blocks.append(Block(name, index + 1, code, "untagged"))
        index = end + 1
    return blocks


def shell_env(home: Path) -> dict[str, str]:
    """A user's environment for a doc's commands: no C2D_ settings but ``C2D_HOME``, this
    venv's ``c2d`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2D_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["C2D_HOME"] = str(home)
    return env


def run_shell(
    code: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """A block as written, under bash's strict mode."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
