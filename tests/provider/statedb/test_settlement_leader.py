"""Two replicas on one PostgreSQL: one settles, the other does not, and takes over when the
first stops or dies; a claim cut short by the leader's death is not sent twice."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from provider.chain.escrow import Claim
from provider.payments.settlement import Settler
from provider.payments.store import SettlementState, SettlementStore
from provider.statedb.advisory import SETTLEMENT_LOCK, AdvisoryLeader
from provider.statedb.postgres import PostgresDatabase
from tests.postgres_server import PostgresServer
from tests.provider.payments.test_settlement import FakeEngine, FakeEscrow, locked, state
from workflows.status import JobStatus

JOB = "a" * 32  # the job of tests.provider.payments.test_settlement.state


class Killed(BaseException):
    """The leader's process dying right after its claim reached the chain."""


class Chain(FakeEscrow):
    """One escrow lock, closed by the first claim, as the real contract does."""

    def __init__(self) -> None:
        super().__init__()
        self.closed_by: Claim | None = None
        self.die_after_claim = False

    def lock_expiry(self, job_id: int, token: str, payer: str) -> int | None:
        return None if self.closed_by else self.expiry

    def claim(self, job_id: int, token: str, payer: str, amount: int) -> Claim:
        assert self.closed_by is None, "a second claim of a closed lock"
        self.closed_by = super().claim(job_id, token, payer, amount)
        if self.die_after_claim:
            raise Killed
        return self.closed_by

    def find_settlement(self, job_id: int, payer: str, lock_tx: str) -> Claim | None:
        return self.closed_by


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.fresh_database(f"c2d_{uuid.uuid4().hex[:12]}")


def replica(url: str, chain: Chain) -> tuple[Settler, AdvisoryLeader, SettlementStore]:
    leader = AdvisoryLeader(url)
    store = SettlementStore(PostgresDatabase(url))
    settler = Settler(escrows={8996: chain}, store=store, clock=lambda: 0.0, leader=leader)  # type: ignore[dict-item]
    return settler, leader, store


def test_only_the_leader_settles_and_the_other_takes_over(url: str) -> None:
    chain = Chain()
    _, first_lead, store = replica(url, chain)
    second, second_lead, _ = replica(url, chain)
    assert first_lead.is_leader()
    store.insert(locked())
    finished = state(JobStatus.FINISHED)
    # Both replicas see the job finish; the follower's listener and sweep leave it alone.
    second.settle(finished)
    second.sweep(FakeEngine(finished))  # type: ignore[arg-type]
    assert chain.claims == []
    assert store.get(JOB).state == SettlementState.LOCKED  # type: ignore[union-attr]
    first_lead.close()  # the leader stops
    second.sweep(FakeEngine(finished))  # type: ignore[arg-type]
    assert chain.claims == [100]
    assert second_lead.is_leader() and not first_lead.is_leader()
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED and row.settle_tx == "0xclaim"


def test_a_leader_killed_mid_claim_is_not_claimed_twice(url: str) -> None:
    chain = Chain()
    first, first_lead, store = replica(url, chain)
    second, _, _ = replica(url, chain)
    store.insert(locked())
    finished = state(JobStatus.FINISHED)
    chain.die_after_claim = True
    with pytest.raises(Killed):
        first.settle(finished)
    first_lead.close()  # its session ends with the process
    chain.die_after_claim = False
    second.sweep(FakeEngine(finished))  # type: ignore[arg-type]
    assert chain.claims == [100]
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED
    assert row.claimed == 100 and "found on chain" in row.note


def test_the_lead_passes_when_the_leading_process_is_killed(url: str) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, psycopg\n"
            f"c = psycopg.connect({url!r}, autocommit=True)\n"
            f"c.execute('SELECT pg_advisory_lock({SETTLEMENT_LOCK})')\n"
            "print('leading', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "leading\n"
        waiting = AdvisoryLeader(url)
        assert not waiting.is_leader()
        holder.kill()
        holder.wait()
        # The server ends the dead session and frees its lock soon after; bounded polling.
        database = PostgresDatabase(url)
        for _ in range(1200):
            if waiting.is_leader():
                break
            database.execute("SELECT pg_sleep(0.05)")
        assert waiting.is_leader()
        waiting.close()
    finally:
        holder.kill()
        holder.wait()
