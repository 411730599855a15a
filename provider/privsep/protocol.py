"""The helper's wire format: length-prefixed JSON frames on a Unix stream socket, typed
requests, and the codec of the job states it answers with.

A frame is a 4-byte big-endian length and that many bytes (JSON, or raw log bytes in a log
stream); an open file (a result) travels as an ``SCM_RIGHTS`` descriptor with its answer.
A request larger than ``MAX_REQUEST`` is refused unread.
"""

from __future__ import annotations

import array
import json
import os
import socket
import struct
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from workflows.engines.base import JobState, ResultFile
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = [
    "JOB_ID_PATTERN",
    "MAX_ANSWER",
    "MAX_REQUEST",
    "FrameError",
    "Request",
    "decode_state",
    "encode_progress",
    "encode_state",
    "parse_request",
    "recv_frame",
    "send_frame",
]

MAX_REQUEST = 4 * 1024 * 1024  # a JobSpec carries at most a 1 MiB HTTP body's worth
MAX_ANSWER = 256 * 1024 * 1024  # an owner's whole job list
_HEADER = struct.Struct(">I")
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"


class FrameError(Exception):
    """The peer broke the framing (too large, cut short): the connection is dropped."""


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckOp(_Op):
    op: Literal["check"]
    spec: JobSpec


class SubmitOp(_Op):
    op: Literal["submit"]
    spec: JobSpec


class JobOp(_Op):
    """``status``: the job's state without its spec, which never changes (the API keeps the
    spec of a job it polls, so a poll carries neither its encoding nor its validation)."""

    op: Literal["get", "status", "stop", "log"]
    job_id: Annotated[str, Field(alias="jobId", pattern=JOB_ID_PATTERN)]


class ResultOp(_Op):
    op: Literal["result"]
    job_id: Annotated[str, Field(alias="jobId", pattern=JOB_ID_PATTERN)]
    index: Annotated[int, Field(ge=0, le=1000)]


class ListOp(_Op):
    op: Literal["list"]
    owner: Annotated[str, Field(min_length=1, max_length=100)]


class ActiveOp(_Op):
    op: Literal["active", "unfinished", "slots"]
    environment: Annotated[str, Field(min_length=1, max_length=63)]


class OccupancyOp(_Op):
    """The environment's load counted in the helper: one small answer instead of every
    unfinished job (a thousand queued made ``computeEnvironments`` take 110 ms)."""

    op: Literal["occupancy"]
    environment: Annotated[str, Field(min_length=1, max_length=63)]
    now: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class RecentOp(_Op):
    op: Literal["recent"]
    limit: Annotated[int, Field(ge=1, le=1000)]


class InfoOp(_Op):
    op: Literal["info", "events"]


Request = Annotated[
    CheckOp | SubmitOp | JobOp | ResultOp | ListOp | ActiveOp | OccupancyOp | RecentOp | InfoOp,
    Field(discriminator="op"),
]
_REQUEST: TypeAdapter[Request] = TypeAdapter(Request)


def parse_request(data: bytes) -> Request:
    """One request, or pydantic's ValidationError (the helper answers it as refused)."""
    return _REQUEST.validate_json(data)


def send_frame(
    sock: socket.socket, payload: bytes | dict[str, Any], fds: tuple[int, ...] = ()
) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    frame = _HEADER.pack(len(data)) + data
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sent = sock.sendmsg([frame], ancillary)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def recv_frame(sock: socket.socket, cap: int) -> tuple[bytes, list[int]] | None:
    """The next frame and the descriptors sent with it; None at a clean end of stream."""
    header, fds = _recv_exactly(sock, _HEADER.size, with_fds=True)
    if not header:
        return None
    (size,) = _HEADER.unpack(header)
    if size > cap:
        for fd in fds:
            os.close(fd)
        raise FrameError(f"a frame of {size} bytes is over the cap of {cap}")
    body, _ = _recv_exactly(sock, size, with_fds=False)
    if len(body) < size:
        raise FrameError("the frame was cut short")
    return body, fds


def _recv_exactly(sock: socket.socket, size: int, *, with_fds: bool) -> tuple[bytes, list[int]]:
    chunks: list[bytes] = []
    fds: list[int] = []
    got = 0
    while got < size:
        if with_fds and not got:
            data, fds, _, _ = socket.recv_fds(sock, size, 4)
        else:
            data = sock.recv(min(size - got, 1 << 20))
        if not data:
            if got:
                raise FrameError("the frame was cut short")
            return b"", fds
        chunks.append(data)
        got += len(data)
    return b"".join(chunks), fds


def encode_state(state: JobState) -> dict[str, Any]:
    """A job's state as JSON (the spec as its own JSON, as the job store keeps it)."""
    return {"spec": json.loads(state.spec.model_dump_json()), **encode_progress(state)}


def encode_progress(state: JobState) -> dict[str, Any]:
    """Everything of a job's state but its spec."""
    return {
        "status": int(state.status),
        "dateFinished": state.date_finished,
        "results": [
            {"filename": r.filename, "filesize": r.filesize, "type": r.type, "index": r.index}
            for r in state.results
        ],
        "exitCode": state.exit_code,
        "oomKilled": state.oom_killed,
        "reason": state.reason,
        "algorithmStartedAt": state.algorithm_started_at,
        "algorithmFinishedAt": state.algorithm_finished_at,
    }


def decode_state(data: dict[str, Any], spec: JobSpec | None = None) -> JobState:
    """``encode_state``'s answer; or ``encode_progress``'s, with the job's ``spec``."""
    return JobState(
        spec=JobSpec.model_validate(data["spec"]) if spec is None else spec,
        status=JobStatus(data["status"]),
        date_finished=data["dateFinished"],
        results=tuple(ResultFile(**r) for r in data["results"]),
        exit_code=data["exitCode"],
        oom_killed=bool(data["oomKilled"]),
        reason=str(data["reason"]),
        algorithm_started_at=data["algorithmStartedAt"],
        algorithm_finished_at=data["algorithmFinishedAt"],
    )
