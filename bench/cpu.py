"""CPU per job by process, read from ``/proc``: where a run's CPU went, not only how long it took.

A throughput figure is a wall-clock figure and moves with the machine's load; CPU milliseconds
per job by part (the HTTP API, the sandbox helper, the forked trusted steps, the sandboxes
started by the stage layer, the client as it counts its own) move much less, and say which
part to cut. A part's
figure is its own CPU plus that of its children it has reaped (``cutime``/``cstime``): the step
server's children are the configure and publish steps, the stage server's the algorithms'
sandboxes (the stage layer and bwrap's outer process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuSnapshot", "cpu_per_job", "machine_busy_seconds", "snapshot"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """Seconds of CPU of each part of a provider's process tree."""

    parts: dict[str, float]


def snapshot(root: int) -> CpuSnapshot:
    """The CPU of ``root`` (a ``c2d serve`` process) and of its descendants, by part."""
    table = _processes()
    parts: dict[str, float] = {}
    for pid in _descendants(root, table):
        _, seconds, command = table[pid]
        part = _part(pid == root, command)
        if part:
            parts[part] = parts.get(part, 0.0) + seconds
    return CpuSnapshot(parts)


def machine_busy_seconds(stat: Path = Path("/proc/stat")) -> float:
    """CPU seconds every core has spent busy since boot: user, nice, system, irq and softirq
    (idle and I/O wait are not work; steal is the hypervisor's; guest is already in user)."""
    for line in stat.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
            return (user + nice + system + irq + softirq) / _TICK
    raise ValueError(f"{stat} has no cpu line")


def cpu_per_job(
    before: CpuSnapshot,
    after: CpuSnapshot,
    jobs: int,
    client_seconds: float,
    machine_seconds: float | None = None,
) -> dict[str, float]:
    """Milliseconds of CPU per job of each part between two snapshots, and of the client
    (``client_seconds``, as the client process measured its own). With ``machine_seconds``
    (the machine's busy time over the client's run): ``machine``, and ``rest``, what the
    machine spent beyond the parts and the client."""
    count = max(jobs, 1)
    per_job = {
        part: (after.parts[part] - before.parts.get(part, 0.0)) * 1000 / count
        for part in after.parts
    }
    per_job["client"] = client_seconds * 1000 / count
    if machine_seconds is not None:
        counted = sum(per_job.values())
        per_job["machine"] = machine_seconds * 1000 / count
        per_job["rest"] = max(per_job["machine"] - counted, 0.0)
    return per_job


def _part(is_root: bool, command: str) -> str:
    if is_root:
        return "api"  # c2d serve as root: the HTTP API drops to its user in this process
    if "_zygote" in command:
        return "stage" if "workflows.engines.local.stage" in command else "steps"
    if "provider.cli" in command:
        return "helper"
    return ""  # a short-lived child: counted by its parent once reaped


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid → (parent pid, own and reaped children's CPU seconds, command line)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seconds = sum(int(value) for value in fields[11:15]) / _TICK
        table[int(entry.name)] = (int(fields[1]), seconds, command)
    return table


def _descendants(root: int, table: dict[int, tuple[int, float, str]]) -> list[int]:
    found, frontier = [root], [root]
    while frontier:
        parents = set(frontier)
        frontier = [pid for pid, (parent, _, _) in table.items() if parent in parents]
        found += frontier
    return [pid for pid in found if pid in table]
