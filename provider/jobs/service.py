"""The job use cases behind the compute routes: authenticate, admit, call the engine, render."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from provider.assets.kept_inputs import KeptInputs
from provider.assets.resolver import AssetResolver
from provider.assets.results import ResultPublisher
from provider.auth.authenticate import Authenticator
from provider.auth.signature import Command
from provider.environment_access import AccessListReader, check_access
from provider.environments import EnvironmentConfig, ProviderConfig
from provider.errors import BadRequest, Conflict, Forbidden, NotFound
from provider.jobs.admission import AdmissionContext, admit_free_job, admit_paid_job
from provider.jobs.render import render_job, render_job_public
from provider.jobs.requests import Credentials, StartRequest
from provider.jobs.streams import StreamLimits, StreamSlots
from provider.payments import PaymentGate
from steps.readers.guard import SourcePolicy
from workflows.engines.base import (
    Engine,
    EngineError,
    JobNotFound,
    JobState,
    RemoteResult,
    ResultFile,
    ResultsExpired,
)
from workflows.jobfiles import JobFile, RefusedJobFile
from workflows.status import TERMINAL_STATUSES, status_text

__all__ = ["OPERATOR", "JobService"]

# Whom the operator's log streams are counted against (never a consumer address: no 0x).
OPERATOR = "operator"


# Paid jobs hold an escrow lock of maxJobDuration + 900 s; a queue wait must fit in that grace.
_PAID_MAX_QUEUE_WAIT = 600


class JobService:
    def __init__(
        self,
        *,
        config: ProviderConfig,
        engine: Engine,
        resolver: AssetResolver,
        authenticator: Authenticator,
        payments: PaymentGate,
        clock: Callable[[], float],
        log_streams: StreamLimits | None = None,
        output_key: bytes | None = None,
        source_policy: SourcePolicy | None = None,
        gateways: Mapping[str, str] | None = None,
        access_lists: AccessListReader | None = None,
        publisher: ResultPublisher | None = None,
        kept_inputs: KeptInputs | None = None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._resolver = resolver
        self._auth = authenticator
        self._payments = payments
        self._clock = clock
        self._log_streams = StreamSlots(log_streams or StreamLimits())
        self._output_key = output_key
        self._source_policy = source_policy or SourcePolicy()
        self._gateways = dict(gateways or {})
        self._access_lists = access_lists
        self._publisher = publisher
        self._kept_inputs = kept_inputs

    def start_free(self, request: StartRequest, credentials: Credentials) -> list[dict[str, Any]]:
        env = self._authenticated_start(request, Command.FREE_START_COMPUTE, credentials)
        spec = admit_free_job(request, self._admission(env))
        wait = self._queue_wait(request, env, env.free.max_jobs if env.free else env.max_jobs)
        spec = spec.model_copy(update={"queue_max_wait_time": wait})
        try:
            state = self._engine.submit(spec)
        except EngineError as error:
            raise Conflict(f"the engine refused the job: {error}") from error
        return [self._render(state)]

    def start_paid(self, request: StartRequest, credentials: Credentials) -> list[dict[str, Any]]:
        env = self._authenticated_start(request, Command.START_COMPUTE, credentials)
        if env.free is not None:
            raise BadRequest(f"environment {env.id} is free: start jobs on it with freeCompute")
        self._check_publishable(request)
        spec = admit_paid_job(request, self._admission(env))
        _check_paid_wait(request)
        wait = self._queue_wait(request, env, env.max_jobs)
        grant = self._payments.authorize(request, env, spec)
        spec = spec.model_copy(
            update={"agreement_id": grant.agreement_id, "queue_max_wait_time": wait}
        )
        asked = request.publish_results
        if asked is not None and self._publisher is not None:
            # Recorded before the submit: a job that ends at once still finds its row.
            self._publisher.request(
                spec.job_id, grant.chain_id, request.consumer_address, asked.as_metadata()
            )
        try:
            state = self._engine.submit(spec)
        except EngineError as error:
            self._payments.abandon(spec.job_id)
            if self._publisher is not None:
                self._publisher.abandon(spec.job_id)
            raise Conflict(f"the engine refused the job: {error}") from error
        return [self._render(state)]

    def _check_publishable(self, request: StartRequest) -> None:
        if request.publish_results is not None and self._publisher is None:
            raise BadRequest(
                "publishResults: this provider publishes no results as assets (it needs a chain"
                " and its public URL, C2D_PUBLIC_URL, for the asset's service endpoint)"
            )

    def _queue_wait(self, request: StartRequest, env: EnvironmentConfig, slots: int) -> int:
        """With queueMaxWaitTime a job waits for a slot (status 1); without, a full env refuses."""
        wait = int(request.queue_max_wait_time or 0)
        if not wait and self._engine.active_jobs(env.id) >= slots:
            raise Conflict(
                f"environment {env.id} already runs its maximum of {slots} jobs;"
                " try again when one finishes, or give queueMaxWaitTime to wait in the queue"
            )
        return wait

    def initialize(self, request: StartRequest) -> dict[str, Any]:
        """initializeCompute: admit the would-be job (policy included), then price its orders."""
        env = self.environment(request.environment)
        if env.free is not None:
            raise BadRequest(f"environment {env.id} is free: start jobs on it with freeCompute")
        self._check_access(env, request.consumer_address)
        self._check_publishable(request)
        spec = admit_paid_job(request, self._admission(env))
        _check_paid_wait(request)
        return self._payments.initialize(request, env, spec)

    def _check_access(self, env: EnvironmentConfig, consumer: str) -> None:
        check_access(env.job_access, consumer, self._access_lists, environment=env.id)

    def _admission(self, env: EnvironmentConfig) -> AdmissionContext:
        return AdmissionContext(
            environment=env,
            resolver=self._resolver,
            job_id=uuid.uuid4().hex,
            now=int(self._clock()),
            engine_check=self._engine.check,
            output_key=self._output_key,
            source_policy=self._source_policy,
            gateways=self._gateways,
            kept_inputs=self._kept_inputs,
        )

    def status(
        self, consumer_address: str, job_id: str | None, agreement_id: str | None, token: str | None
    ) -> list[dict[str, Any]]:
        """Anyone sees how the jobs are doing (public view); a valid token shows everything.

        A job the address may not see, or that does not exist, is left out, so an unknown
        ``job_id`` answers ``[]`` as on Ocean Node.
        """
        full_view = False
        if token:
            self._auth.authenticate_token(consumer_address=consumer_address, token=token)
            full_view = True
        if job_id:
            try:
                states = [self._engine.get(job_id)]
            except JobNotFound:
                states = []
            states = [s for s in states if s.spec.may_view(consumer_address)]
        else:
            states = self._engine.list_for_owner(consumer_address)
        return self._rendered(states, agreement_id, full=full_view)

    async def public_status(
        self, consumer_address: str, job_id: str, agreement_id: str | None
    ) -> list[dict[str, Any]] | None:
        """``status`` of one job without a token, from the event loop; None when it can only be
        told from a worker thread (rendering a job reads the settlement or publication rows
        where a chain is served). A consumer's polls are mostly this call."""
        if self._payments.reads_store or self._publisher is not None:
            return None
        try:
            states = [await self._engine.get_async(job_id)]
        except JobNotFound:
            states = []
        states = [s for s in states if s.spec.may_view(consumer_address)]
        return self._rendered(states, agreement_id, full=False)

    def _rendered(
        self, states: list[JobState], agreement_id: str | None, *, full: bool
    ) -> list[dict[str, Any]]:
        """``states`` of ``agreement_id`` (all when none is named), as their status shows them."""
        if agreement_id:
            states = [s for s in states if s.spec.agreement_id == agreement_id]
        return [self._render(s, full=full) for s in states]

    def stop(
        self, consumer_address: str, job_id: str, credentials: Credentials
    ) -> list[dict[str, Any]]:
        """Stop a job the address may see; an unknown or foreign job answers ``[]`` (Ocean Node's
        answer), after the caller has proven who it is."""
        address = self._authenticated(consumer_address, Command.STOP_COMPUTE, credentials)
        try:
            state = self._engine.get(job_id)
        except JobNotFound:
            return []
        if not state.spec.may_view(address):
            return []
        return [self._render(self._engine.stop(job_id))]

    def result(
        self, consumer_address: str, job_id: str, index: int, credentials: Credentials
    ) -> tuple[ResultFile, JobFile | RemoteResult]:
        """The result file's entry and the file itself, open (blocking: call from a thread),
        or where it is in the result store."""
        state = self._viewable_job(
            consumer_address, job_id, Command.GET_COMPUTE_RESULT, credentials
        )
        try:
            stored = self._engine.result(job_id, index)
            if isinstance(stored, RemoteResult):
                return stored.file, stored
            return stored.file, stored.open()
        except ResultsExpired as error:
            raise NotFound(str(error)) from error
        except JobNotFound as error:
            if state.status not in TERMINAL_STATUSES:
                # Not a wrong index: the results are stored as the job ends.
                raise Conflict(
                    f"job {job_id} has not finished: it is at {int(state.status)}"
                    f" {status_text(state.status).strip()}; its results can be fetched once it ends"
                ) from error
            raise NotFound(f"job {job_id} has no result with index {index}") from error
        except (FileNotFoundError, RefusedJobFile) as error:
            raise NotFound(f"job {job_id} has no result with index {index}") from error

    def logs(
        self, consumer_address: str, job_id: str, credentials: Credentials
    ) -> AsyncIterator[bytes]:
        self._viewable_job(
            consumer_address, job_id, Command.GET_COMPUTE_STREAMABLE_LOGS, credentials
        )
        return self._log_streams.lease(job_id, consumer_address, self._engine.algorithm_log(job_id))

    def operator_log(self, job_id: str) -> AsyncIterator[bytes]:
        """Any job's algorithm log, for the operator's page (its caller checked the token); it
        takes a stream slot as a consumer's would."""
        try:
            self._engine.get(job_id)
            chunks = self._engine.algorithm_log(job_id)
        except JobNotFound as error:
            raise NotFound(f"job {job_id} not found") from error
        return self._log_streams.lease(job_id, OPERATOR, chunks)

    def environment(self, env_id: str) -> EnvironmentConfig:
        env = self._config.environment(env_id)
        if env is None:
            offered = ", ".join(e.id for e in self._config.environments)
            raise NotFound(f"environment {env_id} not found; offered: {offered}")
        return env

    def _authenticated_start(
        self, request: StartRequest, command: str, credentials: Credentials
    ) -> EnvironmentConfig:
        self._auth.authenticate(
            consumer_address=request.consumer_address,
            command=command,
            nonce=credentials.nonce,
            signature=credentials.signature,
            token=credentials.token,
        )
        env = self.environment(request.environment)
        self._check_access(env, request.consumer_address)
        return env

    def _authenticated(self, consumer_address: str, command: str, credentials: Credentials) -> str:
        return self._auth.authenticate(
            consumer_address=consumer_address,
            command=command,
            nonce=credentials.nonce,
            signature=credentials.signature,
            token=credentials.token,
        )

    def _viewable_job(
        self, consumer_address: str, job_id: str, command: str, credentials: Credentials
    ) -> JobState:
        address = self._authenticated(consumer_address, command, credentials)
        try:
            state = self._engine.get(job_id)
        except JobNotFound as error:
            raise NotFound(f"job {job_id} not found") from error
        if not state.spec.may_view(address):
            raise Forbidden(f"job {job_id} is not shared with {consumer_address}")
        return state

    def _render(self, state: JobState, *, full: bool = True) -> dict[str, Any]:
        # A job outlives a config change that removes its environment; it still renders.
        env = self._config.environment(state.spec.environment)
        expiry = env.job_storage_expiry if env else self._config.environments[0].storage_expiry
        publication = self._publisher.describe(state.spec.job_id) if self._publisher else None
        if not full:
            public = render_job_public(self._payments.view(state), storage_expiry=expiry)
            return _with_asset(public, publication)
        body = render_job(self._payments.view(state), storage_expiry=expiry)
        payment = self._payments.describe(state.spec.job_id)
        if payment is not None:
            body["payment"] = payment
        if publication is not None:
            body["publishedAsset"] = publication
        return _with_asset(body, publication)


def _with_asset(body: dict[str, Any], publication: dict[str, Any] | None) -> dict[str, Any]:
    """The asset the outputs became (a result entry), or why they have not become one yet."""
    if publication is not None:
        if publication["state"] == "published":
            body["results"].append(
                {"type": "asset", "did": publication["did"], "chainId": publication["chainId"]}
            )
        elif publication["note"]:
            reason = f"outputs not published as an asset: {publication['note']}"
            body["statusReason"] = "; ".join(r for r in (body["statusReason"], reason) if r)
    return body


def _check_paid_wait(request: StartRequest) -> None:
    wait = int(request.queue_max_wait_time or 0)
    if wait > _PAID_MAX_QUEUE_WAIT:
        raise BadRequest(
            f"queueMaxWaitTime {wait} s is more than a paid job may wait"
            f" ({_PAID_MAX_QUEUE_WAIT} s): the escrow lock must outlast the wait"
        )
