"""Network from inside the sandbox: TCP, UDP, DNS, raw and packet sockets all fail."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.attacks.conftest import report, run
from workflows.status import JobStatus

PROBE = r"""
import json, os, socket
out = {}
def attempt(name, action):
    try:
        out[name] = "succeeded: " + str(action())
    except OSError as error:
        out[name] = "failed: " + type(error).__name__
    except Exception as error:
        out[name] = "failed: " + type(error).__name__
def tcp(host, port):
    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return s.recv(100)
def udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(b"c2d-udp-probe", (host, port))
        return s.recvfrom(100)
for name, (host, port) in TARGETS.items():
    attempt("tcp " + name, lambda: tcp(host, port))
attempt("udp listener", lambda: udp("127.0.0.1", UDP_PORT))
attempt("udp public dns", lambda: udp("8.8.8.8", 53))
attempt("dns lookup", lambda: socket.getaddrinfo("example.com", 80))
attempt("raw icmp socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1))
attempt("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
attempt("netlink socket", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
lines = open("/proc/net/dev").read().splitlines()[2:]
out["interfaces"] = sorted(line.split(":")[0].strip() for line in lines)
open(os.path.join(os.environ["OUTPUTS"], "report.json"), "w").write(json.dumps(out))
"""


class _Listeners:
    """A TCP and a UDP socket on the host's loopback (stand-ins for e.g. the chain RPC)."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.touched: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            for sock, kind in ((self.tcp, "tcp"), (self.udp, "udp")):
                try:
                    if kind == "tcp":
                        sock.accept()[0].close()
                    else:
                        sock.recvfrom(100)
                    self.touched.append(kind)
                except OSError:
                    pass

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def listeners() -> Iterator[_Listeners]:
    running = _Listeners()
    yield running
    running.close()


def _host_addresses() -> list[str]:
    """The machine's own non-loopback IPv4 addresses."""
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127."))


def test_no_packet_leaves_the_sandbox(
    attacker: C2DClient, provider: ServerProcess, listeners: _Listeners
) -> None:
    port = urlparse(provider.url).port
    assert port is not None
    targets = {
        "provider port": ("127.0.0.1", port),
        "loopback listener": ("127.0.0.1", listeners.tcp.getsockname()[1]),
        "public address": ("1.1.1.1", 443),
    }
    for i, address in enumerate(_host_addresses()):
        targets[f"host address {i}"] = (address, port)
    code = PROBE.replace("TARGETS", repr(targets)).replace(
        "UDP_PORT", str(listeners.udp.getsockname()[1])
    )
    job = run(attacker, code)
    assert job["status"] == JobStatus.FINISHED, job
    found = report(attacker, job)
    attempts = {k: v for k, v in found.items() if k != "interfaces"}
    assert len(attempts) >= 9, found
    for name, outcome in attempts.items():
        assert outcome.startswith("failed"), (name, outcome)
    # An empty network namespace: only its own loopback.
    assert found["interfaces"] == ["lo"], found
    assert listeners.touched == []
