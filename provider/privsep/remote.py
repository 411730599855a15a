"""RemoteEngine: the API process's engine, its calls requests to the sandbox helper.

Calls go over kept connections, one call at a time on each (the helper serves a connection in a
thread of its own, so a new connection per call cost a thread start and a peer check there; a
status poll crossed that every time). At most ``_IDLE_CONNECTIONS`` wait idle; a connection
whose call failed on the wire is dropped, never reused. One long-lived connection carries
events (finished jobs, ended steps, changed jobs), one more each live log. When the events
connection ends, the helper has gone: the API process then stops itself (SIGTERM), since it
can run nothing.
A job's spec never changes, so the API keeps those of the jobs it polls (``known_specs.py``)
and a repeated poll asks the helper only for what changes (``status``); a job's state, once
asked, is kept until the helper announces a change of it (``polled_states.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.jobs.occupancy import Occupancy
from provider.privsep.known_specs import KnownSpecs
from provider.privsep.polled_states import PolledStates
from provider.privsep.protocol import (
    JOB_ID_PATTERN,
    MAX_ANSWER,
    decode_state,
    recv_frame,
    send_frame,
)
from workflows.engines.base import (
    EngineError,
    JobNotFound,
    JobState,
    ResultFile,
    ResultsExpired,
    StoredResult,
    Unsupported,
)
from workflows.engines.local.board import StepEvent
from workflows.jobfiles import JobFile, JobFilePath
from workflows.spec import JobSpec

__all__ = ["HelperStats", "RemoteEngine"]

_log = logging.getLogger("c2d")
# Idle connections kept for reuse (the API's worker threads call at most this many at once in
# the common case; more are opened when needed and closed after their call).
_IDLE_CONNECTIONS = 8
# Calls from the event loop on the wire at once, each on a connection of its own, all kept;
# more calls wait for one (the thread pool bounds the blocking calls alike). Well under the
# helper's listen backlog (128) and connection cap (512).
_ASYNC_CALLS = 32
_JOB_ID = re.compile(JOB_ID_PATTERN)
_ERRORS: dict[str, type[Exception]] = {
    "ResultsExpired": ResultsExpired,
    "JobNotFound": JobNotFound,
    "Unsupported": Unsupported,
    "EngineError": EngineError,
    "FileNotFound": FileNotFoundError,
}


@dataclass(frozen=True)
class HelperStats:
    """The image cache's counters, as the helper reported them."""

    hits: int
    pulls: int
    fetched_bytes: int
    pull_seconds: float


@dataclass
class _Wire:
    """One call's connection; ``answered`` once a whole answer came back on it."""

    conn: socket.socket
    answered: bool = False


@dataclass
class _LoopWires:
    """The kept connections of one event loop for calls made from it (asyncio streams belong
    to the loop that opened them), and how many of its calls may be on the wire at once."""

    loop: asyncio.AbstractEventLoop
    calls: asyncio.Semaphore
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]


@dataclass(frozen=True)
class _PassedResult(StoredResult):
    """A result the helper opened and passed over (the API cannot open result storage)."""

    fd: int = -1

    def open(self) -> JobFile:
        return JobFile(self.fd, os.fstat(self.fd))


class RemoteEngine:
    def __init__(self, socket_path: Path) -> None:
        self._path = str(socket_path)
        self._finished: list[Callable[[JobState], None]] = []
        self._steps: list[Callable[[StepEvent], None]] = []
        self._closed = threading.Event()
        self._idle: list[socket.socket] = []
        self._idle_lock = threading.Lock()
        self._loop_wires: _LoopWires | None = None
        self._specs = KnownSpecs()
        self._polled = PolledStates()
        info = self._call({"op": "info"})
        self.weak_sandbox: bool = bool(info["weakSandbox"])
        self.sandbox_description: str = str(info["description"])
        self._events = self._connect()
        send_frame(self._events, {"op": "events"})
        self._answer(_Wire(self._events))
        threading.Thread(target=self._follow_events, name="helper-events", daemon=True).start()

    # --- Engine protocol ----------------------------------------------------------------------
    def check(self, spec: JobSpec) -> None:
        self._call({"op": "check", "spec": json.loads(spec.model_dump_json())})

    def submit(self, spec: JobSpec) -> JobState:
        return decode_state(
            self._call({"op": "submit", "spec": json.loads(spec.model_dump_json())})
        )

    def get(self, job_id: str) -> JobState:
        return decode_state(self._call({"op": "get", "jobId": _known(job_id)}))

    async def get_async(self, job_id: str) -> JobState:
        """A job's state kept since it was last asked (no change announced since), else the
        helper's: for a job asked about before, its kept spec joined with the helper's
        ``status`` (what changes), a few hundred bytes whatever the job carries."""
        kept = self._polled.get(_known(job_id))
        if kept is not None:
            return kept
        mark = self._polled.mark()
        spec = self._specs.get(job_id)
        if spec is not None:
            progress, _ = await self._call_async({"op": "status", "jobId": job_id})
            state = decode_state(progress, spec)
        else:
            answer, size = await self._call_async({"op": "get", "jobId": job_id})
            state = decode_state(answer)
            self._specs.keep(state.spec, size)
        self._polled.keep(state, mark)
        return state

    def stop(self, job_id: str) -> JobState:
        state = decode_state(self._call({"op": "stop", "jobId": _known(job_id)}))
        # Dropped here too: the helper's announcement may come after the consumer's next poll.
        # Once is enough, after the stop: a state kept before it is dropped now, and an answer
        # asked before it and read later is refused by its mark.
        self._polled.changed(job_id)
        return state

    def list_for_owner(self, owner: str) -> list[JobState]:
        return [decode_state(s) for s in self._call({"op": "list", "owner": owner})]

    def active_jobs(self, environment: str) -> int:
        return int(self._call({"op": "active", "environment": environment}))

    def unfinished(self, environment: str) -> list[JobState]:
        answer = self._call({"op": "unfinished", "environment": environment})
        return [decode_state(s) for s in answer]

    def occupancy(self, environment: str, now: float) -> Occupancy:
        """The environment's load, counted by the helper where the jobs are."""
        answer = self._call({"op": "occupancy", "environment": environment, "now": now})
        return Occupancy(
            running=int(answer["running"]),
            queued=int(answer["queued"]),
            queue_wait=int(answer["queue_wait"]),
            run_wait=int(answer["run_wait"]),
            in_use={str(k): float(v) for k, v in answer["in_use"].items()},
        )

    def slots(self, environment: str) -> tuple[int, int]:
        limit, running = self._call({"op": "slots", "environment": environment})
        return int(limit), int(running)

    def recent_jobs(self, limit: int) -> list[JobState]:
        return [decode_state(s) for s in self._call({"op": "recent", "limit": limit})]

    def result(self, job_id: str, index: int) -> StoredResult:
        with self._kept() as wire:
            send_frame(wire.conn, {"op": "result", "jobId": _known(job_id), "index": index})
            answer, fds = self._answer_with_fds(wire)
        file = ResultFile(**answer)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise EngineError("the sandbox helper sent no result file")
        return _PassedResult(file, JobFilePath(Path("."), file.filename), fds[0])

    async def algorithm_log(self, job_id: str) -> AsyncIterator[bytes]:
        reader, writer = await asyncio.open_unix_connection(self._path)
        try:
            writer.write(_frame({"op": "log", "jobId": _known(job_id)}))
            await writer.drain()
            size = struct.unpack(">I", await reader.readexactly(4))[0]
            _raise_error(json.loads(await reader.readexactly(min(size, MAX_ANSWER))))
            while size := struct.unpack(">I", await reader.readexactly(4))[0]:
                yield await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return
        finally:
            writer.close()

    def on_finished(self, listener: Callable[[JobState], None]) -> None:
        self._finished.append(listener)

    def close(self) -> None:
        self._closed.set()
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._close_loop_wires()
        with contextlib.suppress(OSError):
            self._events.shutdown(socket.SHUT_RDWR)

    # --- what the local engine adds -----------------------------------------------------------
    def on_step(self, listener: Callable[[StepEvent], None]) -> None:
        self._steps.append(listener)

    def queue_depths(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._call({"op": "info"})["queueDepths"].items()}

    def job_counts(self) -> dict[tuple[str, int], int]:
        counts = self._call({"op": "info"})["jobCounts"]
        return {(str(env), int(code)): int(n) for env, code, n in counts}

    def image_stats(self) -> HelperStats | None:
        stats = self._call({"op": "info"})["imageStats"]
        return HelperStats(**stats) if stats is not None else None

    # --- the wire -----------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self._path)
        except OSError as error:
            conn.close()
            raise EngineError(f"the sandbox helper is not answering: {error.strerror}") from None
        return conn

    @contextlib.contextmanager
    def _kept(self) -> Iterator[_Wire]:
        """A connection for one call: an idle one or a new one; kept after the helper answered
        (with an error too), closed after anything else (the wire's state is then unknown)."""
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        wire = _Wire(conn or self._connect())
        try:
            yield wire
        finally:
            with self._idle_lock:
                keep = wire.answered and not self._closed.is_set()
                keep = keep and len(self._idle) < _IDLE_CONNECTIONS
                if keep:
                    self._idle.append(wire.conn)
            if not keep:
                wire.conn.close()

    def _call(self, request: dict[str, Any]) -> Any:
        with self._kept() as wire:
            send_frame(wire.conn, request)
            return self._answer(wire)

    async def _call_async(self, request: dict[str, Any]) -> tuple[Any, int]:
        """``_call`` from the event loop, on that loop's own kept connections: no worker
        thread (a status poll's hand-off to one and back cost more than the call). The answer,
        and its size in bytes."""
        wires = self._wires_of_loop()
        async with wires.calls:
            reader, writer = wires.idle.pop() if wires.idle else await self._open_async()
            answered = False
            try:
                writer.write(_frame(request))
                await writer.drain()
                (size,) = struct.unpack(">I", await reader.readexactly(4))
                if size > MAX_ANSWER:
                    raise EngineError(f"the sandbox helper's answer of {size} bytes is too big")
                message = json.loads(await reader.readexactly(size))
                answered = True
            except (OSError, asyncio.IncompleteReadError) as error:
                raise EngineError(f"the sandbox helper hung up: {error}") from None
            finally:
                # Kept whatever the number: at most _ASYNC_CALLS are ever open at once.
                if answered and not self._closed.is_set():
                    wires.idle.append((reader, writer))
                else:
                    writer.close()
        _raise_error(message)
        return message["ok"], size

    def _wires_of_loop(self) -> _LoopWires:
        loop = asyncio.get_running_loop()
        wires = self._loop_wires
        if wires is None or wires.loop is not loop:
            # A new loop (a test's second app, a restart of the server's loop): the old
            # loop's streams cannot be used from this one and are dropped with it.
            wires = _LoopWires(loop, asyncio.Semaphore(_ASYNC_CALLS), [])
            self._loop_wires = wires
        return wires

    def _close_loop_wires(self) -> None:
        wires, self._loop_wires = self._loop_wires, None
        if wires is None:
            return
        for _, writer in wires.idle:
            # A stream is closed by its own loop; a loop already closed took its sockets along.
            with contextlib.suppress(RuntimeError):
                wires.loop.call_soon_threadsafe(writer.close)

    async def _open_async(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_unix_connection(self._path)
        except OSError as error:
            raise EngineError(f"the sandbox helper is not answering: {error.strerror}") from None

    def _answer(self, wire: _Wire) -> Any:
        answer, fds = self._answer_with_fds(wire)
        for fd in fds:
            os.close(fd)
        return answer

    def _answer_with_fds(self, wire: _Wire) -> tuple[Any, list[int]]:
        frame = recv_frame(wire.conn, MAX_ANSWER)
        if frame is None:
            raise EngineError("the sandbox helper hung up")
        data, fds = frame
        message = json.loads(data)
        wire.answered = True
        try:
            _raise_error(message)
        except Exception:
            for fd in fds:
                os.close(fd)
            raise
        return message["ok"], fds

    def _follow_events(self) -> None:
        while True:
            try:
                frame = recv_frame(self._events, MAX_ANSWER)
            except OSError:
                frame = None
            if frame is None:
                break
            event = json.loads(frame[0])
            if "finished" in event:
                for listener in self._finished:
                    _call_listener(listener, decode_state(event["finished"]))
            elif "changed" in event:
                self._polled.changed(str(event["changed"]))
            elif "step" in event:
                for step_listener in self._steps:
                    _call_listener(step_listener, StepEvent(**event["step"]))
        if not self._closed.is_set():
            _log.critical("the sandbox helper has gone; stopping")
            os.kill(os.getpid(), signal.SIGTERM)


def _known(job_id: str) -> str:
    """``job_id`` if it can name a job; else no job has it (the helper would refuse the
    request as malformed, a client asking for it gets "not found" as from any engine)."""
    if not _JOB_ID.fullmatch(job_id):
        raise JobNotFound(f"job {job_id} not found")
    return job_id


def _frame(request: dict[str, Any]) -> bytes:
    data = json.dumps(request).encode()
    return struct.pack(">I", len(data)) + data


def _raise_error(message: dict[str, Any]) -> None:
    error = message.get("error")
    if error is not None:
        kind = _ERRORS.get(str(error.get("type")), EngineError)
        raise kind(str(error.get("message")))


def _call_listener(listener: Callable[[Any], None], value: object) -> None:
    try:
        listener(value)
    except Exception:
        _log.exception("a listener of the sandbox helper's events failed")
