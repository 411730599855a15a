"""Prices, locks and claims in wei: whole started minutes, capped at the lock."""

from __future__ import annotations

from decimal import Decimal

from provider.payments.pricing import claim_amount, lock_amount, per_minute_wei, to_wei

PRICES = {"cpu": Decimal("1"), "ram": Decimal("0.5"), "disk": Decimal("0.1")}


def test_per_minute_sums_price_times_amount() -> None:
    assert per_minute_wei(PRICES, {"cpu": 2, "ram": 4, "disk": 1, "gpu": 3}) == to_wei("4.1")


def test_lock_covers_every_started_minute() -> None:
    assert lock_amount(100, 60) == 100
    assert lock_amount(100, 61) == 200
    assert lock_amount(100, 1) == 100


def test_claim_is_started_minutes_of_the_algorithm() -> None:
    assert claim_amount(100, 500, 1000, 1001) == 100
    assert claim_amount(100, 500, 1000, 1060) == 100
    assert claim_amount(100, 500, 1000, 1061) == 200


def test_claim_is_at_least_the_min_job_duration_once_started() -> None:
    assert claim_amount(100, 500, 1000, 1001, min_seconds=61) == 200
    assert claim_amount(100, 500, 1000, 1200, min_seconds=61) == 400
    assert claim_amount(100, 500, None, None, min_seconds=61) == 0


def test_claim_is_capped_at_the_lock() -> None:
    assert claim_amount(100, 250, 0, 3600) == 250


def test_nothing_is_claimed_when_the_algorithm_never_started() -> None:
    assert claim_amount(100, 500, None, None) == 0


def test_to_wei_rounds_up() -> None:
    assert to_wei("0.0000000000000000001") == 1
