"""The sandbox helper's server: the local engine, as root, behind a Unix socket.

Each connection is checked first: its peer's uid (``SO_PEERCRED``) must be the API user's;
root's and everyone else's are refused (the socket file is the API user's, mode 0600, in a
folder only root and the API's group may enter, so others cannot even connect). Then each
frame is one request (``protocol.py``), re-checked (``checks.py``), answered with
``{"ok": ...}`` or ``{"error": {"type", "message"}}``. ``log`` turns the connection into a
stream of the algorithm's log (raw frames, an empty one at the end), ``events`` into a stream
of finished jobs, ended steps and the ids of changed jobs: of those asked about since their last
change (``watched_jobs.py``), each sent once the helper's answers show the change (the API
keeps polled states until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import queue
import socket
import struct
import threading
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from pydantic import ValidationError

from provider.environments import ProviderConfig
from provider.jobs.occupancy import occupancy
from provider.privsep.checks import RefusedRequest, check_job
from provider.privsep.protocol import (
    MAX_REQUEST,
    ActiveOp,
    CheckOp,
    FrameError,
    InfoOp,
    JobOp,
    ListOp,
    OccupancyOp,
    RecentOp,
    Request,
    ResultOp,
    SubmitOp,
    encode_progress,
    encode_state,
    parse_request,
    recv_frame,
    send_frame,
)
from provider.privsep.watched_jobs import WatchedJobs
from workflows.engines.base import EngineError, JobNotFound
from workflows.engines.local.engine import LocalEngine
from workflows.jobfiles import RefusedJobFile

__all__ = ["Helper"]

_log = logging.getLogger("c2d.helper")
_UCRED = struct.Struct("3i")
_MAX_CONNECTIONS = 512  # the API's calls and its log streams (at most 256) at once
_MAX_SUBSCRIBERS = 4
_Inbox: TypeAlias = "queue.SimpleQueue[dict[str, Any] | None]"
_ERROR_TYPES = ("ResultsExpired", "JobNotFound", "Unsupported", "EngineError")


class Refused(Exception):
    """A request the helper will not serve (its message says why)."""


class Helper:
    def __init__(
        self, engine: LocalEngine, config: ProviderConfig, api_uid: int, description: str
    ) -> None:
        self._engine = engine
        self._config = config
        self._api_uid = api_uid
        self._description = description
        self._slots = threading.BoundedSemaphore(_MAX_CONNECTIONS)
        self._subscribers: list[_Inbox] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="helper-logs", daemon=True).start()
        engine.on_finished(lambda state: self._publish({"finished": encode_state(state)}))
        engine.on_step(lambda event: self._publish({"step": dataclasses.asdict(event)}))
        self._watched = WatchedJobs()
        engine.on_change(self._changed)

    def serve(self, listener: socket.socket) -> None:
        """Accept connections until the listener is closed (a thread each)."""
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                conn.close()
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        streaming = False
        try:
            uid = _peer_uid(conn)
            if uid != self._api_uid:
                _log.warning("refused a connection from uid %d (not the API's)", uid)
                _send_error(conn, "Refused", f"uid {uid} may not use the sandbox helper")
                return
            while not streaming:
                frame = recv_frame(conn, MAX_REQUEST)
                if frame is None:
                    return
                data, fds = frame
                for fd in fds:  # the API sends no descriptors
                    _close(fd)
                streaming = self._serve_one(conn, data)
        except (FrameError, OSError) as error:
            _log.warning("dropped a helper connection: %s", error)
        finally:
            if not streaming:
                conn.close()
                self._slots.release()

    def _serve_one(self, conn: socket.socket, data: bytes) -> bool:
        """Answer one request; True when the connection became a stream (handed over)."""
        try:
            request = parse_request(data)
            if isinstance(request, JobOp) and request.op == "log":
                iterator = self._engine.algorithm_log(request.job_id)
                send_frame(conn, {"ok": None})
                asyncio.run_coroutine_threadsafe(self._pump(conn, iterator), self._loop)
                return True
            if isinstance(request, InfoOp) and request.op == "events":
                self._subscribe(conn)
                return True
            answer, fds = self._answer(request)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            _send_error(conn, "Refused", f"malformed request: {where}: {first['msg']}")
            return False
        except (Refused, RefusedRequest) as error:
            _send_error(conn, "Refused", str(error))
            return False
        except (FileNotFoundError, RefusedJobFile) as error:
            _send_error(conn, "FileNotFound", str(error))
            return False
        except EngineError as error:
            kind = next(n for n in (*_ERROR_TYPES, "EngineError") if _is(error, n))
            _send_error(conn, kind, str(error))
            return False
        except Exception:
            _log.exception("the sandbox helper failed on a request")
            _send_error(conn, "EngineError", "internal error in the sandbox helper")
            return False
        try:
            send_frame(conn, {"ok": answer}, fds)
        finally:
            for fd in fds:
                _close(fd)
        return False

    def _answer(self, request: Request) -> tuple[Any, tuple[int, ...]]:
        engine = self._engine
        if isinstance(request, CheckOp | SubmitOp):
            check_job(request.spec, self._config)
            if isinstance(request, CheckOp):
                engine.check(request.spec)
                return None, ()
            with contextlib.suppress(JobNotFound):
                engine.get(request.spec.job_id)
                raise Refused(f"job {request.spec.job_id} exists already")
            return encode_state(engine.submit(request.spec)), ()
        if isinstance(request, JobOp):
            if request.op in ("status", "get"):
                # Watched before its state is read: a change after the read is announced.
                for dropped in self._watched.asked(request.job_id):
                    self._publish({"changed": dropped})
            if request.op == "status":
                return encode_progress(engine.get(request.job_id)), ()
            state = (
                engine.stop(request.job_id) if request.op == "stop" else engine.get(request.job_id)
            )
            return encode_state(state), ()
        if isinstance(request, ResultOp):
            stored = engine.result(request.job_id, request.index)
            opened = stored.open()
            return dataclasses.asdict(stored.file), (opened.fd,)
        if isinstance(request, ListOp):
            return [encode_state(s) for s in engine.list_for_owner(request.owner)], ()
        if isinstance(request, ActiveOp):
            if request.op == "unfinished":
                return [encode_state(s) for s in engine.unfinished(request.environment)], ()
            if request.op == "slots":
                return list(engine.slots(request.environment)), ()
            return engine.active_jobs(request.environment), ()
        if isinstance(request, OccupancyOp):
            load = occupancy(engine.unfinished(request.environment), request.now)
            return dataclasses.asdict(load), ()
        if isinstance(request, RecentOp):
            return [encode_state(s) for s in engine.recent_jobs(request.limit)], ()
        return self._info(), ()

    def _info(self) -> dict[str, Any]:
        stats = self._engine.image_stats()
        fields = ("hits", "pulls", "fetched_bytes", "pull_seconds")
        return {
            "weakSandbox": self._engine.weak_sandbox,
            "description": self._description,
            "queueDepths": self._engine.queue_depths(),
            "jobCounts": [[env, code, n] for (env, code), n in self._engine.job_counts().items()],
            "imageStats": {f: getattr(stats, f) for f in fields} if stats is not None else None,
        }

    async def _pump(self, conn: socket.socket, iterator: AsyncIterator[bytes]) -> None:
        """Send the log's chunks until it ends or the API hangs up."""
        loop = asyncio.get_running_loop()
        conn.setblocking(False)

        async def send() -> None:
            async for chunk in iterator:
                if chunk:
                    await loop.sock_sendall(conn, struct.pack(">I", len(chunk)) + chunk)
            await loop.sock_sendall(conn, struct.pack(">I", 0))

        sending = asyncio.ensure_future(send())
        hangup = asyncio.ensure_future(loop.sock_recv(conn, 1))
        try:
            await asyncio.wait((sending, hangup), return_when=asyncio.FIRST_COMPLETED)
        except OSError:
            pass
        finally:
            for task in (sending, hangup):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(sending, hangup, return_exceptions=True)
            with contextlib.suppress(BaseException):
                await iterator.aclose()  # type: ignore[attr-defined]
            conn.close()
            self._slots.release()

    def _subscribe(self, conn: socket.socket) -> None:
        inbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        with self._lock:
            if len(self._subscribers) >= _MAX_SUBSCRIBERS:
                raise Refused("too many event subscribers")
            self._subscribers.append(inbox)
        send_frame(conn, {"ok": None})
        threading.Thread(target=self._forward, args=(conn, inbox), daemon=True).start()

    def _forward(
        self, conn: socket.socket, inbox: queue.SimpleQueue[dict[str, Any] | None]
    ) -> None:
        try:
            while (event := inbox.get()) is not None:
                send_frame(conn, event)
        except OSError:
            pass
        finally:
            with self._lock:
                self._subscribers.remove(inbox)
            conn.close()
            self._slots.release()

    def _changed(self, job_id: str) -> None:
        if self._watched.changed(job_id):
            self._publish({"changed": job_id})

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            inboxes = list(self._subscribers)
        for inbox in inboxes:
            inbox.put(event)

    def close(self) -> None:
        with self._lock:
            for inbox in self._subscribers:
                inbox.put(None)
        self._loop.call_soon_threadsafe(self._loop.stop)


def _peer_uid(conn: socket.socket) -> int:
    _, uid, _ = _UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    return int(uid)


def _is(error: Exception, name: str) -> bool:
    return any(kind.__name__ == name for kind in type(error).__mro__)


def _send_error(conn: socket.socket, kind: str, message: str) -> None:
    with contextlib.suppress(OSError):
        send_frame(conn, {"error": {"type": kind, "message": message}})


def _close(fd: int) -> None:
    import os

    os.close(fd)
