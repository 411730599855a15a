"""create_app(settings): builds every service once, then the FastAPI app around them."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from provider import __version__
from provider.access.decrypt import DdoDecrypter
from provider.access.fileinfo import FileInfo
from provider.access.service import AccessService
from provider.api.deps import Services
from provider.api.errors import install_error_handlers
from provider.api.limits import BodySizeLimit
from provider.api.ratelimit import AddressLimit, RateLimit, RatePolicy
from provider.api.routes import (
    access,
    auth,
    compute,
    decrypt,
    discovery,
    environments,
    metrics,
    payments,
    results,
)
from provider.assets import encryption
from provider.assets.resolver import RegistryResolver
from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from provider.chain.access_lists import ChainAccessLists, check_access_chains
from provider.engine_factory import build_engine
from provider.environments import ProviderConfig, default_config, load_config
from provider.jobs.service import JobService
from provider.jobs.streams import StreamLimits
from provider.keys import auth_token_secret, load_provider_account
from provider.observability.metrics import Metrics, SettlementSource
from provider.observability.middleware import RequestMetrics
from provider.payments.setup import build_chain_setup
from provider.settings import Settings
from steps.readers.guard import SourcePolicy
from workflows.engines.base import Engine

__all__ = ["build_services", "create_app"]

_log = logging.getLogger("c2d")
_RECURSION_LIMIT = 1000


def build_services(settings: Settings) -> Services:
    settings.home.mkdir(parents=True, exist_ok=True)
    # Job specs hold file URLs and headers (often secrets); only the provider reads its state.
    settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.state_dir.chmod(0o700)
    settings.assets_dir.mkdir(parents=True, exist_ok=True)
    configured_key = settings.provider_private_key
    account = load_provider_account(
        configured_key.get_secret_value() if configured_key else None, settings.key_file
    )
    configured = load_config(settings.config) if settings.config else None
    chain = build_chain_setup(
        settings.home,
        account,
        RegistryResolver(settings.assets_dir),
        settings.state_dir / "payments.sqlite",
        configured.chains if configured else (),
        settlement_retry=settings.settlement_retry,
    )
    config = configured or default_config(settings.home, paid_fees=chain.fees)
    check_access_chains(
        ((env.id, env.job_access) for env in config.environments), set(chain.clients)
    )
    engine, sandbox = build_engine(settings, config)
    if chain.settler is not None:
        chain.settler.bill_at_least(lambda env_id: _min_job_duration(config, env_id))
        engine.on_finished(chain.settler.settle)
        chain.settler.resume(engine)
    nonces = NonceStore(settings.state_dir / "provider.sqlite")
    tokens = TokenService(
        auth_token_secret(account),
        settings.state_dir / "provider.sqlite",
        lifetime=settings.auth_token_lifetime or None,
        clock=time.time,
    )
    # The per-address rate limit counts proven requests only; the per-IP one (create_app) all.
    address_limit = AddressLimit(
        RatePolicy(settings.rate_limit_address, settings.rate_limit_address_burst)
    )
    authenticator = Authenticator(nonces, tokens, charge=address_limit)
    jobs = JobService(
        config=config,
        engine=engine,
        resolver=chain.resolver,
        authenticator=authenticator,
        payments=chain.payments,
        clock=time.time,
        log_streams=StreamLimits(
            per_job=settings.log_streams_per_job,
            per_address=settings.log_streams_per_address,
            total=settings.log_streams_total,
        ),
        output_key=bytes(account.key),
        source_policy=SourcePolicy.parse(settings.source_networks),
        gateways=settings.gateways,
        access_lists=ChainAccessLists(chain.clients),
    )
    return Services(
        settings=settings,
        config=config,
        account=account,
        engine=engine,
        nonces=nonces,
        tokens=tokens,
        authenticator=authenticator,
        jobs=jobs,
        sandbox_description=sandbox,
        metrics=_metrics(config, engine, chain.settler),
        access=AccessService(
            resolver=chain.resolver,
            clients=chain.clients,
            account=account,
            authenticator=authenticator,
            nonces=nonces,
            policy=SourcePolicy.parse(settings.source_networks),
            gateways=settings.gateways,
            confirmations={served.chain_id: served.confirmations for served in chain.chains},
        ),
        file_info=FileInfo(
            resolver=chain.resolver,
            policy=SourcePolicy.parse(settings.source_networks),
            gateways=settings.gateways,
        ),
        decrypter=DdoDecrypter(
            allowed=settings.decrypters,
            own_address=account.address,
            nonces=nonces,
            decrypt=lambda data: encryption.decrypt(bytes(account.key), data),
        ),
    )


def _min_job_duration(config: ProviderConfig, env_id: str) -> int:
    env = config.environment(env_id)
    return env.job_min_duration if env else 0


def _metrics(config: ProviderConfig, engine: Engine, settler: SettlementSource | None) -> Metrics:
    collected = Metrics(env.id for env in config.environments)
    collected.watch(engine)
    if settler is not None:
        collected.watch_settlements(settler)
    return collected


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    built = services or build_services(settings)
    # py_ecc (imported with eth_account) raises the limit to 100000 on import; the C JSON parser
    # then overflows the stack on a deeply nested body (a 200 KB request killed the process).
    # c2d needs no deep recursion: back to CPython's default, after every import.
    sys.setrecursionlimit(_RECURSION_LIMIT)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _log.info("c2d %s ready; sandbox: %s", __version__, built.sandbox_description)
        yield
        built.engine.close()

    app = FastAPI(
        title="c2d",
        version=__version__,
        description="Compute-to-Data provider, compatible with Ocean Node's compute API",
        lifespan=lifespan,
    )
    app.state.services = built
    install_error_handlers(app)
    for module in (
        discovery,
        auth,
        environments,
        compute,
        payments,
        results,
        metrics,
        access,
        decrypt,
    ):
        app.include_router(module.router)
    app.add_middleware(
        RateLimit, per_ip=RatePolicy(settings.rate_limit_ip, settings.rate_limit_ip_burst)
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    # Outermost: times every request, refusals by the size limit included.
    app.add_middleware(RequestMetrics, metrics=built.metrics)
    return app
