"""Typed dependencies the routes use: the services built by create_app, and the auth header."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from eth_account.signers.local import LocalAccount
from fastapi import Depends, Header, Request

from provider.access.decrypt import DdoDecrypter
from provider.access.fileinfo import FileInfo
from provider.access.service import AccessService
from provider.assets.kept_inputs import KeptInputs
from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from provider.environments import ProviderConfig
from provider.indexer.runner import AssetIndex
from provider.jobs.service import JobService
from provider.observability.metrics import Metrics
from provider.settings import Settings
from workflows.engines.base import Engine

__all__ = ["AuthToken", "Services", "ServicesDep", "token_of"]


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: ProviderConfig
    account: LocalAccount
    engine: Engine
    nonces: NonceStore
    tokens: TokenService
    authenticator: Authenticator
    jobs: JobService
    sandbox_description: str
    metrics: Metrics
    access: AccessService
    file_info: FileInfo
    decrypter: DdoDecrypter
    # Called when the app shuts down, after the engine closes (the state database, the lead).
    close_state: Callable[[], None] = lambda: None
    index: AssetIndex | None = None  # None: no chain is served
    chain_ids: tuple[int, ...] = ()  # the chains served (chains: in the config, or the dev chain)
    kept_inputs: KeptInputs | None = None  # None: no results are published as assets


# Both are async though they never wait: FastAPI runs a plain ``def`` dependency in its thread
# pool, and a hand-off to a worker thread and back cost more than the whole status lookup.
async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _auth_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    return token_of(authorization)


def token_of(authorization: str | None) -> str | None:
    """The token an Authorization header carries, or None when it carries none."""
    # Ocean clients send the raw token; tolerate the usual "Bearer " prefix too. ocean.js sends
    # the literal text "undefined" when it signs instead of using a token.
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token in ("", "undefined", "null"):
        return None
    return token


ServicesDep = Annotated[Services, Depends(_services)]
AuthToken = Annotated[str | None, Depends(_auth_token)]
