"""Dependencies that never wait run on the event loop: FastAPI hands a plain ``def`` dependency
to its thread pool, two hand-offs per request that cost more than a status lookup itself."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from provider.api import deps
from provider.api.routes import (
    access,
    auth,
    compute,
    discovery,
    environments,
    metrics,
    payments,
    results,
)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def test_the_shared_dependencies_of_every_route_are_coroutines() -> None:
    checked = 0
    for module in (access, auth, compute, discovery, environments, metrics, payments, results):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            for sub in _dependencies(route.dependant):
                if getattr(sub.call, "__module__", "") == deps.__name__:
                    assert inspect.iscoroutinefunction(sub.call), (route.path, sub.call)
                    checked += 1
    assert checked >= 10  # the routes do use them: the check is not vacuous
