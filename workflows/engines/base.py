"""The Engine protocol: what the provider may ask of any engine, and the job view it gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal, Protocol

from workflows.jobfiles import JobFile, JobFilePath
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = [
    "Engine",
    "EngineError",
    "JobNotFound",
    "JobState",
    "RemoteResult",
    "ResultFile",
    "ResultReader",
    "ResultType",
    "ResultsExpired",
    "StoredResult",
    "Unsupported",
]

ResultType = Literal["configurationLog", "algorithmLog", "output", "publishLog"]


class EngineError(Exception):
    """The engine cannot do what was asked (message is safe to show to a client)."""


class JobNotFound(EngineError):
    pass


class Unsupported(EngineError):
    """This engine cannot run the job as asked (the message says why): the client's request is
    at fault, not the engine's state."""


class ResultsExpired(JobNotFound):
    """The job's results were removed at its storage expiry (the message says when)."""


@dataclass(frozen=True)
class ResultFile:
    filename: str
    filesize: int
    type: ResultType
    index: int


@dataclass(frozen=True)
class StoredResult:
    """A result file as stored: where to stream it from, opened by ``workflows.jobfiles``."""

    file: ResultFile
    source: JobFilePath

    @classmethod
    def in_storage(cls, results_dir: Path, job_id: str, file: ResultFile) -> StoredResult:
        # Below result storage itself: the job's own folder there is the job's, not ours.
        return cls(file, JobFilePath(results_dir, f"{job_id}/{file.filename}"))

    @property
    def path(self) -> Path:
        return self.source.folder / self.source.relative

    def open(self) -> JobFile:
        """The file, open and checked (blocking: call from a thread)."""
        return self.source.open()


class ResultReader(Protocol):
    """Result files kept outside this machine's file systems (the result store on S3)."""

    def manifest(self, job_id: str) -> list[ResultFile]:
        """The job's results.json; FileNotFoundError while there is none."""
        ...

    def open(self, job_id: str, name: str, start: int, end: int | None) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of one file (to its end when ``end`` is None), requested
        before this returns (FileNotFoundError for a missing file), streamed as iterated."""
        ...


@dataclass(frozen=True)
class RemoteResult:
    """A result file in a ``ResultReader``'s store."""

    file: ResultFile
    job_id: str
    reader: ResultReader

    def open(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.reader.open(self.job_id, self.file.filename, start, end)


@dataclass(frozen=True)
class JobState:
    """One job as the engine sees it now; the provider renders it to the Ocean job JSON.

    The one type of a job's state: the local engine's stored record (``JobRecord``) extends it
    with its own bookkeeping, the Argo engine maps a Workflow to it. A new field goes here (and,
    for the local engine, into the SQL schema of store.py).
    """

    spec: JobSpec
    status: JobStatus
    date_finished: int | None = None
    results: tuple[ResultFile, ...] = ()
    exit_code: int | None = None
    oom_killed: bool = False
    # Why the job ended this way, in words an owner can act on (never a secret).
    reason: str = ""
    algorithm_started_at: int | None = None
    algorithm_finished_at: int | None = None

    def as_state(self, results: tuple[ResultFile, ...] = ()) -> JobState:
        """This state alone (without a subclass's bookkeeping), with ``results``."""
        own = {item.name: getattr(self, item.name) for item in fields(JobState)}
        return JobState(**{**own, "results": results})


class Engine(Protocol):
    def check(self, spec: JobSpec) -> None:
        """Raise ``Unsupported`` when this engine cannot run ``spec`` (asked at admission, before
        anything is paid for; ``submit`` asks again)."""
        ...

    def submit(self, spec: JobSpec) -> JobState:
        """Accept the job (persisted before returning) and start it."""
        ...

    def get(self, job_id: str) -> JobState:
        """Raise ``JobNotFound`` for an unknown id."""
        ...

    async def get_async(self, job_id: str) -> JobState:
        """``get`` for a caller on the event loop: it never blocks the loop."""
        ...

    def list_for_owner(self, owner: str) -> list[JobState]: ...

    def active_jobs(self, environment: str) -> int:
        """How many jobs of this environment have not finished yet (admission limits)."""
        ...

    def unfinished(self, environment: str) -> list[JobState]:
        """This environment's jobs that have not finished yet, queued ones included (what the
        environment listing counts: jobs, resources in use, wait times)."""
        ...

    def stop(self, job_id: str) -> JobState:
        """Kill the job's processes; it ends with its logs published."""
        ...

    def result(self, job_id: str, index: int) -> StoredResult | RemoteResult:
        """Raise ``JobNotFound`` when the job or the index does not exist."""
        ...

    def algorithm_log(self, job_id: str) -> AsyncIterator[bytes]:
        """The algorithm's output so far, then live until the algorithm ends."""
        ...

    def on_finished(self, listener: Callable[[JobState], None]) -> None:
        """Call ``listener`` with the final state of every job that ends from now on (payment
        settlement, metrics); a listener that raises is logged and does not affect the job."""
        ...

    def close(self) -> None: ...
