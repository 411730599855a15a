"""Results expire from the result store (ministack): the leader deletes a job's objects once
its newest one is older than the expiry, results.json first; a follower deletes nothing."""

from __future__ import annotations

import time

import pytest

from provider.result_expiry import ResultExpiry
from tests.storage_servers import S3Server
from workflows.result_store import ResultStore

KEEP = 7 * 86400


class Lead:
    def __init__(self, leading: bool) -> None:
        self.leading = leading

    def is_leader(self) -> bool:
        return self.leading

    def close(self) -> None:
        return None


def _objects(s3: S3Server, prefix: str) -> set[str]:
    listed = s3.s3.list_objects_v2(Bucket="results", Prefix=prefix).get("Contents", [])
    return {item["Key"] for item in listed}


@pytest.fixture
def store(s3: S3Server) -> ResultStore:
    prefix = f"expiry-{time.monotonic_ns()}"
    for job in ("a" * 32, "b" * 32):
        for name in ("outputs.tar", "algorithm.log", "results.json"):
            s3.s3.put_object(Bucket="results", Key=f"{prefix}/{job}/{name}", Body=b"x")
    return ResultStore(
        endpoint=s3.endpoint,
        bucket="results",
        prefix=prefix,
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key,
    )


def test_results_go_after_the_expiry_and_not_before(s3: S3Server, store: ResultStore) -> None:
    now = time.time()
    fresh = ResultExpiry(store, keep_seconds=KEEP, leader=Lead(True), clock=lambda: now)
    assert fresh.sweep() == []
    assert len(_objects(s3, store.prefix)) == 6
    later = ResultExpiry(store, keep_seconds=KEEP, leader=Lead(True), clock=lambda: now + KEEP + 60)
    assert sorted(later.sweep()) == ["a" * 32, "b" * 32]
    assert _objects(s3, store.prefix) == set()


def test_a_follower_deletes_nothing(s3: S3Server, store: ResultStore) -> None:
    later = time.time() + KEEP + 60
    follower = ResultExpiry(store, keep_seconds=KEEP, leader=Lead(False), clock=lambda: later)
    assert follower.sweep() == []
    assert len(_objects(s3, store.prefix)) == 6
