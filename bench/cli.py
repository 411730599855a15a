"""CPU the ``c2d`` command takes to start: ``c2d --help`` and a consumer's ``c2d list`` against
the bench's provider (user + system time of the child, from ``wait4``; imports included)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from eth_account import Account

from bench.figures import Figure
from bench.service import Bench

__all__ = ["measure_cli"]

_C2D = str(Path(sys.executable).with_name("c2d"))


def measure_cli(bench: Bench, *, rounds: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="c2d-bench-cli-") as folder:
        key_file = Path(folder) / "consumer.key"
        key_file.write_text(Account.create().key.hex())
        env = {
            **os.environ,
            "C2D_PROVIDER_URL": bench.url,
            "C2D_CONSUMER_KEY_FILE": str(key_file),
        }
        bare = _median_cpu([sys.executable, "-c", "pass"], env, rounds)
        help_cpu = _median_cpu([_C2D, "--help"], env, rounds)
        list_cpu = _median_cpu([_C2D, "list"], env, rounds)
    return [
        Figure("cli_help_cpu_s", help_cpu, "s", bare, "< 0.3 s"),
        Figure("cli_list_cpu_s", list_cpu, "s", bare, "< 0.3 s"),
    ]


def _median_cpu(argv: list[str], env: dict[str, str], rounds: int) -> float:
    spent = []
    for _ in range(rounds):
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {process.returncode}")
        spent.append(usage.ru_utime + usage.ru_stime)
    return sorted(spent)[len(spent) // 2]
