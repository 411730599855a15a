"""The step server's warm-up download: fetched through the job's reader and guard from a
loopback server of its own, nothing left open, and never an error for the step server."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from steps import warm
from steps.warm import warm_download


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_the_warm_up_fetches_its_file_and_leaves_no_thread_or_descriptor() -> None:
    threads, fds = threading.active_count(), _open_fds()
    assert warm_download() is True
    assert threading.active_count() == threads
    assert _open_fds() <= fds


def test_without_loopback_the_warm_up_gives_up_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_loopback(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(99, "Cannot assign requested address")

    monkeypatch.setattr(socket, "create_server", no_loopback)
    assert warm_download() is False


def test_a_server_answering_something_else_is_no_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "_ANSWER", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    threads = threading.active_count()
    assert warm_download() is False
    assert threading.active_count() == threads
