"""Settlement view and state machine, with a fake escrow: 71 until settled, then 70."""

from __future__ import annotations

import time
from pathlib import Path

from provider.chain.client import ChainError
from provider.chain.escrow import Claim
from provider.observability.metrics import Metrics
from provider.payments.escrow_rules import EscrowFacts
from provider.payments.settlement import SettlementBacklog, Settler
from provider.payments.store import Settlement, SettlementState, SettlementStore
from workflows.engines.base import JobState
from workflows.spec import AlgorithmSpec, Container, JobSpec, Limits
from workflows.status import JobStatus

JOB = "a" * 32


class FakeEscrow:
    def __init__(self) -> None:
        self.claims: list[int] = []
        self.expiry = 10**12

    def facts(self, payer: str, token: str) -> EscrowFacts:
        return EscrowFacts(available=0, authorized=False)

    def lock_expiry(self, job_id: int, token: str, payer: str) -> int | None:
        return self.expiry

    def claim(self, job_id: int, token: str, payer: str, amount: int) -> Claim:
        self.claims.append(amount)
        return Claim(tx="0xclaim", claimed=amount)

    def cancel_expired(self, job_id: int, token: str, payer: str) -> str:
        return "0xcancel"

    def chain_time(self) -> int:
        return 1000


def state(status: JobStatus, started: int | None = 100, finished: int | None = 130) -> JobState:
    spec = JobSpec(
        job_id=JOB,
        owner="0xowner",
        environment="paid",
        created_at=1,
        inputs=(),
        algorithm=AlgorithmSpec(
            container=Container(entrypoint="python3 $ALGO", image="python", tag="3.11"),
            rawcode="print(1)",
        ),
        limits=Limits(
            cpus=1, memory_bytes=2**30, disk_bytes=2**30, max_job_duration=60, max_download_bytes=1
        ),
    )
    return JobState(
        spec=spec,
        status=status,
        date_finished=finished,
        algorithm_started_at=started,
        algorithm_finished_at=finished,
    )


def locked() -> Settlement:
    """The row of a paid job whose price (300 wei, 100 a minute) is locked."""
    return Settlement(
        job_id=JOB,
        chain_id=8996,
        token="0xtoken",
        payer="0xpayer",
        escrow_job_id=7,
        per_minute=100,
        locked=300,
        state=SettlementState.LOCKED,
        lock_tx="0xlock",
    )


def settler(tmp_path: Path) -> tuple[Settler, FakeEscrow, SettlementStore]:
    store = SettlementStore(tmp_path / "payments.sqlite")
    store.insert(locked())
    escrow = FakeEscrow()
    return Settler(escrows={8996: escrow}, store=store, clock=lambda: 0.0), escrow, store  # type: ignore[dict-item]


def test_finished_paid_job_is_settling_until_claimed(tmp_path: Path) -> None:
    gate, escrow, store = settler(tmp_path)
    finished = state(JobStatus.FINISHED)
    assert gate.settling_view(finished).status == JobStatus.SETTLING
    gate.settle(finished)
    assert escrow.claims == [100]
    assert gate.settling_view(finished).status == JobStatus.FINISHED
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED and row.claimed == 100


def test_a_started_job_pays_at_least_the_environments_min_job_duration(tmp_path: Path) -> None:
    # The algorithm ran 30 s; the paid environment bills at least 150 s: 3 started minutes.
    gate, escrow, _ = settler(tmp_path)
    gate.bill_at_least(lambda env_id: 150 if env_id == "paid" else 0)
    gate.settle(state(JobStatus.FINISHED))
    assert escrow.claims == [300]


def test_job_that_never_ran_its_algorithm_is_released(tmp_path: Path) -> None:
    gate, escrow, store = settler(tmp_path)
    gate.settle(state(JobStatus.DATA_PROVISIONING_FAILED, started=None))
    assert escrow.claims == [0]
    row = store.get(JOB)
    assert row is not None and row.note.startswith("released")


def test_expired_lock_is_canceled_not_claimed(tmp_path: Path) -> None:
    gate, escrow, store = settler(tmp_path)
    escrow.expiry = 999
    gate.settle(state(JobStatus.FINISHED))
    assert escrow.claims == []
    row = store.get(JOB)
    assert row is not None and row.settle_tx == "0xcancel" and "expired" in row.note


def test_a_job_is_settled_once(tmp_path: Path) -> None:
    gate, escrow, _ = settler(tmp_path)
    gate.settle(state(JobStatus.FINISHED))
    gate.settle(state(JobStatus.FINISHED))
    assert escrow.claims == [100]


class FakeEngine:
    def __init__(self, job: JobState | None) -> None:
        self.job = job

    def get(self, job_id: str) -> JobState:
        from workflows.engines.base import JobNotFound

        if self.job is None:
            raise JobNotFound(job_id)
        return self.job


def test_sweep_settles_a_job_that_ended_unnoticed(tmp_path: Path) -> None:
    gate, escrow, store = settler(tmp_path)
    gate.sweep(FakeEngine(state(JobStatus.FINISHED)))  # type: ignore[arg-type]
    assert escrow.claims == [100]
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED


def test_sweep_leaves_running_jobs_and_fresh_unsubmitted_rows(tmp_path: Path) -> None:
    gate, escrow, store = settler(tmp_path)
    gate.sweep(FakeEngine(state(JobStatus.RUNNING_ALGORITHM, finished=None)))  # type: ignore[arg-type]
    # A row written by this run with no job yet belongs to a start between lock and submit.
    gate.sweep(FakeEngine(None))  # type: ignore[arg-type]
    assert escrow.claims == []
    assert store.get(JOB) is not None


def test_owner_sees_the_payment_block(tmp_path: Path) -> None:
    gate, _, _ = settler(tmp_path)
    locked = gate.describe(JOB)
    assert locked is not None and locked["lockTx"] == "0xlock" and locked["claimTx"] is None
    gate.settle(state(JobStatus.FINISHED))
    settled = gate.describe(JOB)
    assert settled is not None and settled["claimTx"] == "0xclaim" and settled["cost"] == 1e-16
    assert gate.describe("b" * 32) is None


class UnreachableEscrow(FakeEscrow):
    """The chain is down: every claim fails."""

    def claim(self, job_id: int, token: str, payer: str, amount: int) -> Claim:
        raise ChainError("connection refused")


def test_a_failing_claim_is_counted_and_retried_with_backoff(tmp_path: Path) -> None:
    _, _, store = settler(tmp_path)
    now = [0.0]
    escrows: dict[int, FakeEscrow] = {8996: UnreachableEscrow()}
    gate = Settler(escrows=escrows, store=store, clock=lambda: now[0], retry=10)  # type: ignore[arg-type]
    engine = FakeEngine(state(JobStatus.FINISHED))
    assert gate.backlog() == SettlementBacklog(
        failures=0, locked=1, settling=0, oldest_settling_seconds=0.0
    )
    gate.settle(state(JobStatus.FINISHED))
    gate.sweep(engine)  # type: ignore[arg-type]  # too soon: not tried again
    assert gate.backlog().failures == 1
    now[0] = 10.0
    gate.sweep(engine)  # type: ignore[arg-type]  # fails again; next wait doubles
    now[0] = 29.0
    gate.sweep(engine)  # type: ignore[arg-type]
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLING
    backlog = gate.backlog()
    assert (backlog.failures, backlog.locked, backlog.settling) == (2, 0, 1)
    # The chain answers again: the next due sweep claims, once.
    escrows[8996] = FakeEscrow()
    now[0] = 30.0
    gate.sweep(engine)  # type: ignore[arg-type]
    gate.sweep(engine)  # type: ignore[arg-type]
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED and row.claimed == 100
    assert escrows[8996].claims == [100]


def test_metrics_show_the_settlement_backlog_for_alerts(tmp_path: Path) -> None:
    gate, _, _ = settler(tmp_path)
    gate._escrows = {8996: UnreachableEscrow()}  # type: ignore[dict-item]
    gate._clock = lambda: time.time() + 600  # ten minutes after the job ended
    metrics = Metrics(["paid"])
    metrics.watch_settlements(gate)
    gate.settle(state(JobStatus.FINISHED))
    text = metrics.render().decode()
    assert "c2d_settlement_failures_total 1.0" in text
    assert 'c2d_settlements{state="settling"} 1.0' in text
    oldest = next(
        line for line in text.splitlines() if line.startswith("c2d_settlement_oldest_settling")
    )
    assert 590 <= float(oldest.split()[1]) <= 700


class LostAnswerEscrow(FakeEscrow):
    """The claim lands on chain, but its answer is lost (the RPC dropped mid-claim)."""

    def __init__(self) -> None:
        super().__init__()
        self.closed: Claim | None = None

    def lock_expiry(self, job_id: int, token: str, payer: str) -> int | None:
        return None if self.closed else self.expiry

    def claim(self, job_id: int, token: str, payer: str, amount: int) -> Claim:
        self.claims.append(amount)
        self.closed = Claim("0xlanded", amount)
        raise ChainError("escrow claimLockAndWithdraw: sent, receipt not read")

    def find_settlement(self, job_id: int, payer: str, lock_tx: str) -> Claim | None:
        return self.closed


def test_a_claim_whose_answer_was_lost_is_recorded_from_chain_not_sent_again(
    tmp_path: Path,
) -> None:
    _, _, store = settler(tmp_path)
    now = [0.0]
    escrow = LostAnswerEscrow()
    gate = Settler(escrows={8996: escrow}, store=store, clock=lambda: now[0], retry=5)  # type: ignore[dict-item]
    gate.settle(state(JobStatus.FINISHED))
    now[0] = 5.0
    gate.sweep(FakeEngine(state(JobStatus.FINISHED)))  # type: ignore[arg-type]
    assert escrow.claims == [100]  # one claim sent, never a second
    row = store.get(JOB)
    assert row is not None and row.state == SettlementState.SETTLED
    assert (row.claimed, row.settle_tx) == (100, "0xlanded")
    described = gate.describe(JOB)
    assert described is not None and described["claimTx"] == "0xlanded"
