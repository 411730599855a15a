"""How many jobs of an environment run at once when the operator does not say: three per CPU.

A job does not use its CPU all the time: between its steps, while publish syncs the results to
disk and while one of its processes hands over to the next, its slot waits. Through bursts of
trivial jobs on a 2-core machine, two slots per CPU left the CPUs about 10 % idle; three kept
them 95 % busy and ran 3 to 12 % more jobs per second at about the same CPU per job; four
gained nothing certain (docs/operations.md, "Slots per CPU").
"""

from __future__ import annotations

import os

__all__ = ["SLOTS_PER_CPU", "default_job_slots"]

SLOTS_PER_CPU = 3


def default_job_slots() -> int:
    """Jobs run at once per environment by default on this machine."""
    return SLOTS_PER_CPU * (os.cpu_count() or 1)
