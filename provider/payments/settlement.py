"""Settlement of paid jobs: claim the used minutes, release the rest; resumable after restarts."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from web3.exceptions import Web3Exception

from provider.chain.backoff import Backoff
from provider.chain.client import ChainError
from provider.chain.escrow import EscrowClient
from provider.payments.pricing import claim_amount, from_wei
from provider.payments.store import Settlement, SettlementState, SettlementStore
from provider.statedb.leader import Leadership, SoleLeader
from workflows.engines.base import Engine, JobNotFound, JobState
from workflows.status import JobStatus

__all__ = ["SettlementBacklog", "Settler"]

_log = logging.getLogger("c2d.payments")


@dataclasses.dataclass(frozen=True)
class SettlementBacklog:
    """What an operator alerts on: claims that keep failing, ended jobs not yet settled."""

    failures: int  # failed claims and releases since this process started
    locked: int  # paid jobs whose price is locked (running, or ended and not yet noticed)
    settling: int  # ended jobs whose claim has not gone through yet
    oldest_settling_seconds: float  # how long the oldest of those has waited (0: none)


class Settler:
    """Turns finished paid jobs into claims on their chain's Escrow. Each settlement row moves
    locked → settling → settled in SQLite; ``resume`` picks up what a stopped provider or a
    failed claim left. A row whose claim failed waits ``retry`` seconds, doubled after each
    further failure up to ``max_retry``, before the next attempt (an RPC that is down is not
    hammered); it stays in SQLite meanwhile, so nothing is lost across restarts either.

    With several replicas on one database, only the ``leader`` settles: the others' finish
    listeners and sweeps do nothing, and the leader's sweep picks their jobs up. A row whose
    job no replica knows is released only once older than ``orphan_grace`` seconds, as another
    replica may be between its lock and its submit."""

    def __init__(
        self,
        *,
        escrows: Mapping[int, EscrowClient],
        store: SettlementStore,
        clock: Callable[[], float],
        retry: float = 30.0,
        max_retry: float = 900.0,
        leader: Leadership | None = None,
        orphan_grace: float = 0.0,
    ) -> None:
        self._escrows = escrows
        self._store = store
        self._clock = clock
        # Environment id → the least seconds a started job is charged for (minJobDuration).
        self._billing_floor: Callable[[str], int] = lambda _: 0
        self._started = int(clock())
        self._busy_lock = threading.Lock()
        self._busy: set[str] = set()
        self._retry = retry
        self._leader = leader or SoleLeader()
        self._orphan_grace = orphan_grace
        self._backoff = Backoff(clock, first=retry, ceiling=max_retry)

    def bill_at_least(self, floor: Callable[[str], int]) -> None:
        """Charge a started job of environment ``e`` for at least ``floor(e)`` seconds (set
        once the environments are known, after the chains)."""
        self._billing_floor = floor

    def settle(self, job: JobState) -> None:
        """Engine finish listener: settle ``job`` if it is a paid job still locked."""
        if not self._leader.is_leader():
            return  # the leader's next sweep settles it
        row = self._store.begin_settling(job.spec.job_id)
        if row is not None:
            self._settle(row, job)

    def abandon(self, job_id: str) -> None:
        row = self._store.get(job_id)
        if row is None:
            return
        note = "released: the job was not accepted by the engine"
        if row.locked and row.lock_tx and not self._release(row, note=note):
            return  # kept: the next start retries the release
        self._store.delete(job_id)

    def resume(self, engine: Engine) -> threading.Thread:
        """Settle, in the background now and then every ``retry`` seconds, the ended jobs whose
        rows are still locked or settling (left by a previous run or a failed claim)."""
        thread = threading.Thread(
            target=self._sweep_forever, args=(engine, self._retry), name="settlement", daemon=True
        )
        thread.start()
        return thread

    def describe(self, job_id: str) -> dict[str, Any] | None:
        row = self._store.get(job_id)
        if row is None:
            return None
        settled = row.state == SettlementState.SETTLED
        released = settled and row.claimed == 0
        return {
            "chainId": row.chain_id,
            "token": row.token,
            "lockTx": row.lock_tx or None,
            "claimTx": row.settle_tx if settled and not released else None,
            "cancelTx": row.settle_tx if released and row.settle_tx else None,
            "cost": float(from_wei(row.claimed if settled else row.locked)),
            "state": row.state.value,
        }

    def sweep(self, engine: Engine) -> None:
        """One pass over the unsettled rows (by the leader only)."""
        if not self._leader.is_leader():
            return
        for row in self._store.unsettled():
            try:
                job = engine.get(row.job_id)
            except JobNotFound:
                # Only rows of a previous run: a row of this run may belong to a start
                # request between its lock and its submit.
                if row.updated_at < min(self._started, self._clock() - self._orphan_grace):
                    self.abandon(row.job_id)
                continue
            if job.date_finished is None:
                continue  # still running: the engine's finish listener settles it
            if not self._backoff.due(row.job_id):
                continue
            if row.state == SettlementState.LOCKED:
                claimed = self._store.begin_settling(row.job_id)
                if claimed is None:
                    continue
                row = claimed
            self._settle(row, job)

    def backlog(self) -> SettlementBacklog:
        rows = self._store.unsettled()
        settling = [r for r in rows if r.state == SettlementState.SETTLING]
        now = self._clock()
        oldest = max((now - r.updated_at for r in settling), default=0.0)
        return SettlementBacklog(
            failures=self._backoff.failures,
            locked=len(rows) - len(settling),
            settling=len(settling),
            oldest_settling_seconds=max(0.0, oldest),
        )

    def settling_view(self, job: JobState) -> JobState:
        if job.status != JobStatus.FINISHED:
            return job
        row = self._store.get(job.spec.job_id)
        if row is None or row.state == SettlementState.SETTLED:
            return job
        return dataclasses.replace(job, status=JobStatus.SETTLING)

    def _sweep_forever(self, engine: Engine, every: float) -> None:
        while True:
            try:
                self.sweep(engine)
            except Exception:
                _log.exception("settlement sweep failed; next try in %s s", every)
            time.sleep(every)

    def _settle(self, row: Settlement, job: JobState) -> None:
        with self._busy_lock:
            if row.job_id in self._busy:
                return  # the listener and a sweep met: one claim is enough
            self._busy.add(row.job_id)
        try:
            current = self._store.get(row.job_id)  # the row may have been settled meanwhile
            if current is not None and current.state == SettlementState.SETTLING:
                self._settle_once(current, job)
        finally:
            with self._busy_lock:
                self._busy.discard(row.job_id)

    def _settle_once(self, row: Settlement, job: JobState) -> None:
        if row.locked == 0 or not row.lock_tx:
            self._store.finish(row.job_id, claimed=0, settle_tx="", note="nothing was locked")
            return
        escrow = self._escrows.get(row.chain_id)
        if escrow is None:
            _log.warning(
                "job %s: chain %s is no longer served; its settlement waits",
                row.job_id,
                row.chain_id,
            )
            return
        amount = claim_amount(
            row.per_minute,
            row.locked,
            job.algorithm_started_at,
            job.algorithm_finished_at or job.date_finished,
            min_seconds=self._billing_floor(job.spec.environment),
        )
        if amount == 0:
            self._release(row, note="released: the algorithm never started")
            return
        try:
            expiry = escrow.lock_expiry(row.escrow_job_id, row.token, row.payer)
            if expiry is None:
                # Closed already: by a claim of ours whose answer was lost (a crash or an RPC
                # failure mid-claim), or by a cancel. Record what the chain says was paid.
                found = escrow.find_settlement(row.escrow_job_id, row.payer, row.lock_tx)
                note = "the lock was closed before this attempt (found on chain)"
                self._store.finish(
                    row.job_id,
                    claimed=found.claimed if found else 0,
                    settle_tx=found.tx if found else "",
                    note=note if found else "the lock was no longer open",
                )
                self._backoff.succeeded(row.job_id)
                return
            if expiry <= escrow.chain_time():
                # Claiming an expired lock silently cancels it: say so instead.
                tx = escrow.cancel_expired(row.escrow_job_id, row.token, row.payer)
                note = "the lock expired before the claim; nothing was claimed"
                self._store.finish(row.job_id, claimed=0, settle_tx=tx, note=note)
                return
            claim = escrow.claim(row.escrow_job_id, row.token, row.payer, amount)
        except (ChainError, Web3Exception, OSError) as error:
            wait = self._backoff.failed(row.job_id)
            _log.warning(
                "job %s: settlement failed, retried in %.0f s: %s", row.job_id, wait, error
            )
            return
        self._backoff.succeeded(row.job_id)
        self._store.finish(
            row.job_id, claimed=claim.claimed, settle_tx=claim.tx, note=f"claimed {amount} wei"
        )
        _log.info("job %s: settled, claimed %d of %d wei", row.job_id, claim.claimed, row.locked)

    def _release(self, row: Settlement, *, note: str) -> bool:
        escrow = self._escrows.get(row.chain_id)
        if escrow is None:
            _log.warning("job %s: chain %s is no longer served", row.job_id, row.chain_id)
            return False
        try:
            claim = escrow.claim(row.escrow_job_id, row.token, row.payer, 0)
        except (ChainError, Web3Exception, OSError) as error:
            wait = self._backoff.failed(row.job_id)
            _log.warning("job %s: release failed, retried in %.0f s: %s", row.job_id, wait, error)
            return False
        self._backoff.succeeded(row.job_id)
        self._store.finish(row.job_id, claimed=0, settle_tx=claim.tx, note=note)
        return True
