"""Compute prices: per-minute resource prices x amounts x whole minutes, in token wei. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["claim_amount", "from_wei", "lock_amount", "per_minute_wei", "to_wei"]

_UNIT = Decimal(10) ** 18


def to_wei(amount: Decimal | float | str) -> int:
    """Token units (18 decimals) → wei, rounded up: a price is never undercharged by rounding."""
    return int((Decimal(str(amount)) * _UNIT).to_integral_value(rounding="ROUND_CEILING"))


def from_wei(amount: int) -> Decimal:
    return Decimal(amount) / _UNIT


def per_minute_wei(prices: Mapping[str, Decimal], amounts: Mapping[str, float]) -> int:
    """What one minute of the requested resources costs; unpriced resources are free."""
    total = Decimal(0)
    for resource, amount in amounts.items():
        total += prices.get(resource, Decimal(0)) * Decimal(str(amount))
    return to_wei(total)


def lock_amount(per_minute: int, max_job_duration: int) -> int:
    """The most a job can cost: every started minute of its maximum duration."""
    return per_minute * max(1, math.ceil(max_job_duration / 60))


def claim_amount(
    per_minute: int,
    locked: int,
    started_at: int | None,
    finished_at: int | None,
    min_seconds: int = 0,
) -> int:
    """What a finished job is charged: its algorithm's run time, at least ``min_seconds`` (the
    environment's minJobDuration, Ocean Node's billing floor), in started minutes (at least one
    once it started), never more than was locked; nothing if the algorithm never started."""
    if started_at is None:
        return 0
    seconds = max(0, (finished_at if finished_at is not None else started_at) - started_at)
    seconds = max(seconds, min_seconds)
    minutes = max(1, math.ceil(seconds / 60))
    return min(per_minute * minutes, locked)
