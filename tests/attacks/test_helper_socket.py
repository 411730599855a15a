"""The privilege split of ``c2d serve`` started as root (provider/privsep/): the process that
parses HTTP is not root, and the root sandbox helper serves only the API user, only well-formed
job requests within the environment's limits — tried here over its socket directly, as a
compromised API process would."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from provider.privsep.protocol import MAX_REQUEST, recv_frame, send_frame
from tests.attacks.conftest import run
from tests.workflows.engine_support import sandboxed_spec

_GIB = 2**30


def _ids(pid: int) -> tuple[list[int], list[int]]:
    """Real, effective, saved and filesystem uids and gids of ``pid``."""
    fields: dict[str, list[int]] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid"):
            fields[key] = [int(v) for v in value.split()]
    return fields["Uid"], fields["Gid"]


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _listens_on(pid: int, port: int) -> bool:
    """Whether ``pid`` holds the TCP socket listening on ``port``."""
    inodes = set()
    # No tcp6 table on a kernel without IPv6 (the VM's).
    for table in (t for t in ("/proc/net/tcp", "/proc/net/tcp6") if Path(t).exists()):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                inodes.add(parts[9])
    return any(f"socket:[{inode}]" in _held(pid) for inode in inodes)


def _held(pid: int) -> set[str]:
    """What ``pid``'s descriptors point at; one closed during the scan (a connection the
    process ended meanwhile) is left out."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            held.add(os.readlink(fd))
    return held


@pytest.fixture(scope="module")
def api_ids(provider: ServerProcess) -> tuple[int, int]:
    uids, gids = _ids(provider.process.pid)
    return uids[0], gids[0]


def test_the_process_serving_http_is_not_root(provider: ServerProcess) -> None:
    pid = provider.process.pid
    port = int(provider.url.rsplit(":", 1)[1])
    uids, gids = _ids(pid)
    assert 0 not in uids and 0 not in gids, (uids, gids)
    assert len(set(uids)) == 1 and len(set(gids)) == 1  # no way back to root
    assert _listens_on(pid, port)
    # The helper is its child, root, and does not hold the HTTP socket.
    helpers = [child for child in _children(pid) if _ids(child)[0][0] == 0]
    assert len(helpers) == 1
    assert not _listens_on(helpers[0], port)
    groups = Path(f"/proc/{pid}/status").read_text().split("Groups:")[1].splitlines()[0]
    assert groups.split() == []


def test_a_job_id_no_job_can_have_is_not_found_over_http(provider: ServerProcess) -> None:
    # The helper refuses such an id as malformed; the API answers as for any unknown job
    # (before: a 500, found by tests/fuzz/test_api_schema.py).
    owner = "0x" + "00" * 20
    status = httpx.get(
        f"{provider.url}/api/services/compute", params={"jobId": "0", "consumerAddress": owner}
    )
    assert (status.status_code, status.json()) == (200, [])


def test_what_is_whose_in_the_home(attack_home: Path, api_ids: tuple[int, int]) -> None:
    uid, gid = api_ids
    # This provider's key is in its environment (the probes look for it): no key file.
    assert not (attack_home / "provider.key").exists()
    jobs_db = os.stat(attack_home / "state" / "jobs.sqlite")
    assert (jobs_db.st_uid, jobs_db.st_mode & 0o777) == (0, 0o600)
    state = os.stat(attack_home / "state")
    assert (state.st_uid, state.st_gid, state.st_mode & 0o7777) == (0, gid, 0o1770)
    nonces = os.stat(attack_home / "state" / "provider.sqlite")
    assert nonces.st_uid == uid
    # images/ exists only where an environment pulls registry images.
    pulled = ["images"] if (attack_home / "images").exists() else []
    for private in ["jobs", "results", *pulled]:
        folder = os.stat(attack_home / private)
        assert (folder.st_uid, folder.st_mode & 0o777) == (0, 0o700), private
    sock = os.stat(attack_home / "run" / "helper.sock")
    assert (sock.st_uid, sock.st_mode & 0o777) == (uid, 0o600)
    run = os.stat(attack_home / "run")
    assert (run.st_uid, run.st_gid, run.st_mode & 0o777) == (0, gid, 0o750)


def _as(uid: int, gid: int, cwd: Path, action: Callable[[], Any]) -> dict[str, Any]:
    """Run ``action`` in a forked child that became ``uid``/``gid`` in ``cwd``; what it
    returned (``ok``) or the error it raised (``raised``, ``errno``)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        outcome: dict[str, Any]
        try:
            os.close(read_end)
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            outcome = {"ok": action()}
        except BaseException as error:
            outcome = {"raised": type(error).__name__, "errno": getattr(error, "errno", None)}
        finally:
            os.write(write_end, json.dumps(outcome).encode())
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result


def _as_api_user(home: Path, api_ids: tuple[int, int], action: Callable[[], Any]) -> dict[str, Any]:
    """``_as`` the API user, in the folder of the helper's socket."""
    uid, gid = api_ids
    return _as(uid, gid, home / "run", action)


def _ask(*requests: dict[str, Any] | bytes) -> Callable[[], list[Any]]:
    """Connect to ``helper.sock`` (in the working folder), send each request, collect answers
    (with none, the one answer the helper gives unasked)."""

    def action() -> list[Any]:
        answers: list[Any] = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect("helper.sock")
            for request in requests:
                if isinstance(request, bytes):
                    conn.sendall(request)
                else:
                    send_frame(conn, request)
                answers.append(_answer(conn))
            if not requests:
                answers.append(_answer(conn))
        return answers

    return action


def _answer(conn: socket.socket) -> Any:
    frame = recv_frame(conn, 1 << 24)
    return json.loads(frame[0]) if frame else None


def test_other_users_cannot_connect(attack_home: Path, api_ids: tuple[int, int]) -> None:
    _, api_gid = api_ids
    run = attack_home / "run"
    stranger = _as(4242, 4242, run, _ask({"op": "info"}))
    assert stranger == {"raised": "PermissionError", "errno": 13}
    # In the API's group, so the folder lets it through: the socket itself does not.
    grouped = _as(4242, api_gid, run, _ask({"op": "info"}))
    assert grouped == {"raised": "PermissionError", "errno": 13}


def test_root_is_refused_by_its_peer_credentials(attack_home: Path) -> None:
    # Root passes the file's permissions; the helper checks who connected (SO_PEERCRED).
    # It answers at once, before any request (one sent would race its hang-up).
    answer = _as(0, 0, attack_home / "run", _ask())
    assert answer["ok"] == [
        {"error": {"type": "Refused", "message": "uid 0 may not use the sandbox helper"}}
    ]


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(sandboxed_spec("print(1)").model_dump_json())
    limits = changes.pop("limits", {})
    spec["limits"].update(limits)
    spec.update(changes)
    return spec


def test_the_api_user_gets_only_what_a_job_request_could(
    attack_home: Path, api_ids: tuple[int, int]
) -> None:
    answers = _as_api_user(
        attack_home,
        api_ids,
        _ask(
            {"op": "check", "spec": _spec()},
            {"op": "get", "jobId": "../../state"},
            {"op": "result", "jobId": "../results", "index": 0},
            {"op": "check", "spec": _spec(job_id="../../etc")},
            {"op": "submit", "spec": _spec(environment="root-shell")},
            {"op": "submit", "spec": _spec(limits={"memory_bytes": 1024 * _GIB})},
            {"op": "submit", "spec": _spec(limits={"max_job_duration": 10**9})},
            {"op": "submit", "spec": _spec(limits={"max_processes": 100_000})},
            {"op": "exec", "argv": ["/bin/sh"]},
            {"op": "get", "jobId": "0" * 32, "path": "/etc/shadow"},
            b"\x00\x00\x00\x05{nope",
        ),
    )
    ok, *refusals = answers["ok"]
    assert ok == {"ok": None}  # a job a start request could make passes
    assert all(answer["error"]["type"] == "Refused" for answer in refusals), refusals
    messages = [answer["error"]["message"] for answer in refusals]
    assert "jobId" in messages[0] and "pattern" in messages[0]
    assert "jobId" in messages[1]
    assert "spec.job_id" in messages[2]
    assert messages[3] == "unknown environment 'root-shell'"
    assert messages[4].startswith("memory 1.09951e+12 is above the most environment free allows")
    assert messages[5].startswith("duration 1e+09 is above the most environment free allows")
    assert messages[6].startswith("processes 100000 is above")
    assert "op" in messages[7]
    assert "path" in messages[8] and "Extra inputs" in messages[8]
    assert "malformed request" in messages[9]


def test_a_status_request_names_a_job_as_a_get_does(
    attack_home: Path, api_ids: tuple[int, int]
) -> None:
    """``status`` (a poll of a job whose spec the API keeps) is bounded as ``get``: a job's id
    and nothing else."""
    answers = _as_api_user(
        attack_home,
        api_ids,
        _ask(
            {"op": "status", "jobId": "../../state"},
            {"op": "status", "jobId": "0" * 32},
            {"op": "status", "jobId": "0" * 32, "path": "/etc/shadow"},
        ),
    )
    malformed, unknown, extra = answers["ok"]
    assert malformed["error"]["type"] == "Refused" and "pattern" in malformed["error"]["message"]
    assert unknown["error"]["type"] == "JobNotFound"
    assert extra["error"]["type"] == "Refused" and "Extra inputs" in extra["error"]["message"]


_NAN_PAYLOAD = b'{"op": "occupancy", "environment": "free", "now": NaN}'
_NAN_TIME = len(_NAN_PAYLOAD).to_bytes(4, "big") + _NAN_PAYLOAD  # JSON has no NaN; Python's has


def test_the_load_sums_are_all_an_occupancy_request_gets(
    attack_home: Path, api_ids: tuple[int, int]
) -> None:
    """The sums ``computeEnvironments`` lists, for one environment at one time: no job, and a
    time that is no time (negative, NaN) or an environment name out of bounds is refused."""
    answers = _as_api_user(
        attack_home,
        api_ids,
        _ask(
            {"op": "occupancy", "environment": "free", "now": 1_800_000_000.5},
            {"op": "occupancy", "environment": "free", "now": -1},
            _NAN_TIME,
            {"op": "occupancy", "environment": "x" * 64, "now": 1.0},
        ),
    )
    load, *refusals = answers["ok"]
    assert set(load["ok"]) == {"running", "queued", "queue_wait", "run_wait", "in_use"}
    assert all(answer["error"]["type"] == "Refused" for answer in refusals), refusals


def test_an_oversized_request_is_dropped_unread(
    attack_home: Path, api_ids: tuple[int, int]
) -> None:
    uid, gid = api_ids
    header = struct.pack(">I", MAX_REQUEST + 1)
    answers = _as(uid, gid, attack_home / "run", _ask(header))
    assert answers == {"ok": [None]}  # the helper hung up without an answer


def _helper_connections(helper: int, socket_path: Path) -> set[str]:
    """Inodes of the connections the helper accepted on ``socket_path`` (not its listener)."""
    accepted = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        parts = line.split()
        listening = int(parts[3], 16) & 0x10000  # __SO_ACCEPTCON
        if len(parts) > 7 and parts[7] == str(socket_path) and not listening:
            accepted.add(parts[6])
    held = _held(helper)
    return {inode for inode in accepted if f"socket:[{inode}]" in held}


def test_status_polls_reuse_the_connections_to_the_helper(
    provider: ServerProcess, attack_home: Path
) -> None:
    # A new connection per call cost the helper a thread start and a peer check on every
    # status poll; the API keeps its connections (the events stream is one of them).
    helper = next(c for c in _children(provider.process.pid) if _ids(c)[0][0] == 0)
    socket_path = attack_home / "run" / "helper.sock"
    params = {"jobId": "0" * 32, "consumerAddress": "0x" + "00" * 20}
    with httpx.Client(base_url=provider.url) as http:
        for _ in range(20):
            assert http.get("/api/services/compute", params=params).status_code == 200
        kept = _helper_connections(helper, socket_path)
        for _ in range(20):
            assert http.get("/api/services/compute", params=params).status_code == 200
        again = _helper_connections(helper, socket_path)
    assert len(kept) >= 2, kept  # the events stream and at least one kept for calls
    assert again == kept


def test_a_status_without_a_token_is_the_public_view_of_a_job_the_address_may_see(
    provider: ServerProcess, attacker: C2DClient
) -> None:
    # The status route answers this case from the event loop (RemoteEngine.get_async); every
    # filter of the token path holds there too.
    job = run(attacker, "print(1)")
    owner = {"consumerAddress": attacker.account.address, "jobId": job["jobId"]}
    with httpx.Client(base_url=provider.url) as http:

        def status(**changes: str) -> Any:
            answer = http.get("/api/services/compute", params={**owner, **changes})
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            return answer.json()

        public = status()
        stranger = status(consumerAddress="0x" + "11" * 20)
        no_such_job = status(jobId="0" * 32)
        other_agreement = status(agreementId="0x" + "ab" * 32)
    assert [(j["jobId"], j["status"], j["owner"]) for j in public] == [
        (job["jobId"], 70, attacker.account.address)
    ]
    assert public[0]["results"] == job["results"]
    assert not {"algorithm", "agreementId", "payment", "inputDID"} & set(public[0])
    assert stranger == no_such_job == other_agreement == []
