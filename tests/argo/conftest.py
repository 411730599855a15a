"""Fixtures: a fake cluster on 127.0.0.1 and Argo engines talking to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.argo.fake_cluster import NS, FakeServer
from workflows.engines.argo import ArgoEngine, ArgoServerApi, ClusterApi, KubernetesApi


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


def kube_api(server: FakeServer) -> KubernetesApi:
    configuration = client.Configuration()
    configuration.host = server.url
    return KubernetesApi(client.ApiClient(configuration), NS)


def argo_server_api(server: FakeServer) -> ArgoServerApi:
    return ArgoServerApi(server.url, kube=kube_api(server), token="t0ken")


@pytest.fixture
def start_engine(server: FakeServer, tmp_path: Path) -> Iterator[Callable[..., ArgoEngine]]:
    started: list[ArgoEngine] = []

    def start(api: ClusterApi | None = None, **options: Any) -> ArgoEngine:
        engine = ArgoEngine(
            api or kube_api(server),
            results_dir=tmp_path / "results",
            watch_timeout=1,
            retry_seconds=0.2,
            sync_timeout=5,
            **options,
        )
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.close()
