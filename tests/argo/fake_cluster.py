"""A fake Kubernetes API + Argo Server on 127.0.0.1 that records every request it answers.

It keeps Workflows, Pods and Secrets in memory with a resourceVersion counter; list and watch
(``?watch=true`` or Argo's ``/workflow-events``) answer from that state, a watch returning
the events after the requested resourceVersion and then closing, as a watch timeout would.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NS = "c2d-jobs"
WORKFLOWS = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows"
PODS = f"/api/v1/namespaces/{NS}/pods"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"
ARGO_WORKFLOWS = f"/api/v1/workflows/{NS}"
ARGO_EVENTS = f"/api/v1/workflow-events/{NS}"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeCluster:
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    events: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    version: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock)
    pod_log: bytes = b""
    # (method, kind) → HTTP status the cluster answers instead (admission or RBAC refusing).
    refuse: dict[tuple[str, str], int] = field(default_factory=dict)

    # --- state changes, as the cluster's controllers would make them ----------------------
    def put(self, kind: str, obj: dict[str, Any], event: str = "MODIFIED") -> dict[str, Any]:
        with self.lock:
            self.version += 1
            stored = copy.deepcopy(obj)
            stored.setdefault("metadata", {})["resourceVersion"] = str(self.version)
            stored["metadata"].setdefault("uid", f"uid-{stored['metadata']['name']}")
            getattr(self, kind)[stored["metadata"]["name"]] = stored
            self.events.append((kind, self.version, event, copy.deepcopy(stored)))
            return stored

    def delete(self, kind: str, name: str) -> None:
        with self.lock:
            obj = getattr(self, kind).pop(name, None)
            if obj is not None:
                self.version += 1
                self.events.append((kind, self.version, "DELETED", obj))

    def calls(self, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if method is None or r.method == method]

    # --- answers ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        kind, name, argo = _route(path)
        if (method, kind) in self.refuse:
            return ("status", self.refuse[(method, kind)])
        if path.endswith("/log"):
            return ("raw", self.pod_log)
        if argo and path == ARGO_EVENTS:
            return ("lines", [{"result": e} for e in self._events("workflows", query, True)])
        watching = query.get("watch", ["false"])[0] == "true"
        if method == "GET" and name is None:
            if watching:
                return ("lines", self._events(kind, query, False))
            selectors = query.get("labelSelector") or query.get("listOptions.labelSelector")
            selector = (selectors or [""])[0]
            items = [o for o in getattr(self, kind).values() if _selects(selector, o)]
            return {"metadata": {"resourceVersion": str(self.version)}, "items": items}
        if method == "POST" and name is None:
            obj = body["workflow"] if argo else body
            if obj["metadata"]["name"] in getattr(self, kind):
                return ("status", 409)
            return self.put(kind, obj, "ADDED")
        if name is None or name not in getattr(self, kind):
            return ("status", 404)
        if method == "DELETE":  # answered with the object, as Kubernetes does for a Pod
            deleted = getattr(self, kind)[name]
            self.delete(kind, name)
            return deleted
        if method == "PATCH":
            return self.put(kind, _merge(getattr(self, kind)[name], body))
        if method == "PUT" and argo:  # stop / terminate
            strategy = "Stop" if path.endswith("/stop") else "Terminate"
            return self.put(kind, _merge(self.workflows[name], {"spec": {"shutdown": strategy}}))
        return getattr(self, kind)[name]

    def _events(self, kind: str, query: dict[str, list[str]], argo: bool) -> list[Any]:
        key = "listOptions.resourceVersion" if argo else "resourceVersion"
        since = int((query.get(key) or ["0"])[0] or 0)
        with self.lock:
            return [
                {"type": event, "object": obj}
                for k, version, event, obj in self.events
                if k == kind and version > since
            ]


def _route(path: str) -> tuple[str, str | None, bool]:
    for prefix, kind, argo in (
        (WORKFLOWS, "workflows", False),
        (PODS, "pods", False),
        (SECRETS, "secrets", False),
        (ARGO_EVENTS, "workflows", True),
        (ARGO_WORKFLOWS, "workflows", True),
    ):
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix) :].strip("/").split("/")
            return kind, rest[0] or None, argo
    raise KeyError(path)


def _selects(selector: str, obj: dict[str, Any]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if key not in labels or (value and labels[key] != value):
            return False
    return True


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class FakeServer:
    """``with FakeServer() as server:`` — ``server.url``, ``server.cluster``."""

    def __init__(self) -> None:
        self.cluster = FakeCluster()
        cluster = self.cluster

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = parse_qs(url.query)
                cluster.requests.append(
                    Recorded(self.command, url.path, query, body, dict(self.headers))
                )
                try:
                    answer = cluster.handle(self.command, url.path, query, body)
                except KeyError:
                    answer = ("status", 404)
                status, payload = 200, b""
                if isinstance(answer, tuple) and answer[0] == "status":
                    status = answer[1]
                    payload = json.dumps({"kind": "Status", "code": status}).encode()
                elif isinstance(answer, tuple) and answer[0] == "raw":
                    payload = answer[1]
                elif isinstance(answer, tuple):
                    payload = b"".join(json.dumps(line).encode() + b"\n" for line in answer[1])
                else:
                    payload = json.dumps(answer).encode()
                    # Kubernetes answers a create with 201 Created; the Argo Server with 200.
                    if self.command == "POST" and not url.path.startswith("/api/v1/workflows"):
                        status = 201
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
