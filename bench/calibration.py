"""The machine's calibration line, printed first: what the same host costs for a process start,
a bare sandbox start and pure-Python work, so figures from two machines can be compared."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

from bench.figures import Figure, percentile

__all__ = ["calibrate", "calibration_figures", "calibration_line", "parse_calibration_line"]

_LOOP = 1_000_000
_PREFIX = "calibration:"
_FIELDS = ("fork_exec_ms", "bwrap_ms", "python_loop_ms")
_PAIR = re.compile(r"(\w+)=([0-9.]+)")


def _median_ms(command: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return percentile(times[1:], 0.5) * 1000


def _python_loop_ms(rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(_LOOP):
            total += i
        times.append(time.perf_counter() - started)
    return percentile(times, 0.5) * 1000


def calibrate(rounds: int = 20) -> dict[str, float]:
    """Medians of: fork+exec+exit of /bin/true; ``bwrap`` (new namespaces, / read-only) running
    /bin/true; a Python loop of a million additions."""
    bwrap = shutil.which("bwrap") or "bwrap"
    sandbox = [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "/bin/true"]
    return {
        "fork_exec_ms": _median_ms(["/bin/true"], rounds),
        "bwrap_ms": _median_ms(sandbox, rounds),
        "python_loop_ms": _python_loop_ms(max(3, rounds // 4)),
    }


def calibration_line(values: dict[str, float], load: tuple[float, float, float]) -> str:
    pairs = " ".join(f"{name}={values[name]:.2f}" for name in _FIELDS)
    return f"{_PREFIX} {pairs} load1={load[0]:.2f} (medians; loop: 10^6 additions)"


def parse_calibration_line(line: str) -> dict[str, float]:
    """The numbers of a line written by ``calibration_line`` (as pasted into the docs)."""
    if not line.startswith(_PREFIX):
        raise ValueError(f"not a calibration line: {line[:40]!r}")
    values = {name: float(value) for name, value in _PAIR.findall(line)}
    missing = [name for name in _FIELDS if name not in values]
    if missing:
        raise ValueError(f"calibration line without {', '.join(missing)}")
    return values


def calibration_figures(values: dict[str, float]) -> list[Figure]:
    return [Figure(f"calibration_{name}", values[name], "ms") for name in _FIELDS]
