"""create_app(settings): builds every service once, then the FastAPI app around them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from eth_account.signers.local import LocalAccount
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
    aquarius,
    auth,
    compute,
    decrypt,
    discovery,
    environments,
    metrics,
    payments,
    results,
)
from provider.api.status_poll import StatusPolls
from provider.assets import encryption
from provider.assets.kept_inputs import KeptInputs
from provider.assets.publication_store import PublicationStore
from provider.assets.resolver import RegistryResolver
from provider.assets.results import MintingChain, ResultPublisher
from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from provider.chain.access_lists import ChainAccessLists, check_access_chains
from provider.chain.data_nfts import DataNfts
from provider.chain.erc1271 import Erc1271Signers
from provider.chains.served import ServedChain, served_chains
from provider.engine_factory import build_engine, result_store
from provider.environments import ProviderConfig, default_config, load_config
from provider.jobs.service import JobService
from provider.jobs.streams import StreamLimits
from provider.keys import auth_token_secret, derived_secret, load_provider_account
from provider.observability.metrics import IndexProgress, Metrics, SettlementSource
from provider.observability.middleware import RequestMetrics
from provider.payments.setup import ChainSetup, build_chain_setup, dev_fees
from provider.result_expiry import ResultExpiry
from provider.settings import Settings
from provider.statedb.leader import Leadership
from provider.statedb.open import State, open_state
from provider.ui import routes as ui
from steps.readers.guard import SourcePolicy
from workflows.engines.base import Engine, JobNotFound

__all__ = ["build_services", "create_app", "load_account", "load_provider_config"]

_log = logging.getLogger("c2d")
_RECURSION_LIMIT = 1000


def load_provider_config(settings: Settings) -> ProviderConfig:
    """The environments: the config file's, else the default one (priced on the dev chain
    recorded in C2D_HOME, when there is one)."""
    if settings.config:
        return load_config(settings.config)
    dev = [chain for chain in served_chains((), settings.home) if chain.dev]
    return default_config(settings.home, paid_fees=dev_fees(dev[0]) if dev else None)


def load_account(settings: Settings) -> LocalAccount:
    """The provider's key: configured, else read from (or generated into) C2D_HOME."""
    configured_key = settings.provider_private_key
    return load_provider_account(
        configured_key.get_secret_value() if configured_key else None, settings.key_file
    )


def build_services(
    settings: Settings,
    *,
    config: ProviderConfig | None = None,
    built_engine: tuple[Engine, str] | None = None,
    served: list[ServedChain] | None = None,
) -> Services:
    """Every service; ``built_engine`` (and its sandbox line) when built elsewhere: then the home
    was prepared by root (privsep/user.py) and is left as it is."""
    if built_engine is None:
        settings.home.mkdir(parents=True, exist_ok=True)
        # Job specs hold file URLs and headers (often secrets); only the provider reads state.
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings.state_dir.chmod(0o700)
        settings.assets_dir.mkdir(parents=True, exist_ok=True)
    account = load_account(settings)
    config = config or load_provider_config(settings)
    url = settings.database_url
    state = open_state(settings.state_dir, url.get_secret_value() if url else None)
    chain = build_chain_setup(
        settings.home,
        account,
        RegistryResolver(settings.assets_dir),
        state.payments,
        config.chains,
        settlement_retry=settings.settlement_retry,
        leader=state.leader,
        orphan_grace=state.orphan_grace,
        index_interval=settings.index_interval,
        served=served,
    )
    check_access_chains(
        ((env.id, env.job_access) for env in config.environments), set(chain.clients)
    )
    engine, sandbox = built_engine or build_engine(settings, config, bytes(account.key))
    expiry = _result_expiry(settings, config, state.leader)
    if chain.settler is not None:
        chain.settler.bill_at_least(lambda env_id: _min_job_duration(config, env_id))
        engine.on_finished(chain.settler.settle)
        chain.settler.resume(engine)
    publisher = _publisher(settings, account, chain)
    if publisher is not None:
        publisher.watch(engine)
    kept_inputs = _kept_inputs(publisher, engine, account, settings.public_url)
    nonces = NonceStore(state.auth)
    tokens = TokenService(
        auth_token_secret(account),
        state.auth,
        lifetime=settings.auth_token_lifetime or None,
        clock=time.time,
    )
    # The per-address rate limit counts proven requests only; the per-IP one (create_app) all.
    address_limit = AddressLimit(
        RatePolicy(settings.rate_limit_address, settings.rate_limit_address_burst)
    )
    authenticator = Authenticator(
        nonces,
        tokens,
        charge=address_limit,
        contracts=Erc1271Signers(chain.clients) if chain.clients else None,
    )
    access_lists = ChainAccessLists(chain.clients)
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
        access_lists=access_lists,
        publisher=publisher,
        kept_inputs=kept_inputs,
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
        metrics=_metrics(config, engine, chain.settler, chain.index),
        access=AccessService(
            resolver=chain.resolver,
            clients=chain.clients,
            account=account,
            authenticator=authenticator,
            nonces=nonces,
            policy=SourcePolicy.parse(settings.source_networks),
            gateways=settings.gateways,
            confirmations={served.chain_id: served.confirmations for served in chain.chains},
            kept=publisher.kept_for if publisher else None,
        ),
        file_info=FileInfo(
            resolver=chain.resolver,
            policy=SourcePolicy.parse(settings.source_networks),
            gateways=settings.gateways,
            kept=publisher.kept_for if publisher else None,
        ),
        decrypter=DdoDecrypter(
            allowed=settings.decrypters,
            own_address=account.address,
            nonces=nonces,
            decrypt=lambda data: encryption.decrypt(bytes(account.key), data),
            chains={
                served.chain_id: DataNfts(
                    chain.clients[served.chain_id], served.addresses.address("ERC721Factory")
                )
                for served in chain.chains
            },
            access_lists=settings.decrypter_lists,
            holds=access_lists.holds,
        ),
        index=chain.index,
        chain_ids=tuple(served.chain_id for served in chain.chains),
        kept_inputs=kept_inputs,
        close_state=lambda: _close(expiry, state),
    )


def _publisher(
    settings: Settings, account: LocalAccount, chain: ChainSetup
) -> ResultPublisher | None:
    """Publishing results needs a chain to mint on and a URL the asset's service points at."""
    if not chain.clients or not settings.public_url:
        return None
    return ResultPublisher(
        store=PublicationStore(settings.state_dir / "publications.sqlite"),
        chains={
            served.chain_id: MintingChain(
                chain.clients[served.chain_id], served.addresses.address("ERC721Factory")
            )
            for served in chain.chains
        },
        account=account,
        public_url=settings.public_url,
        kept_dir=settings.kept_results_dir,
        retry=settings.settlement_retry,
    )


def _kept_inputs(
    publisher: ResultPublisher | None, engine: Engine, account: LocalAccount, public_url: str
) -> KeptInputs | None:
    if publisher is None:
        return None

    def running(job_id: str) -> bool:
        try:
            return engine.get(job_id).date_finished is None
        except JobNotFound:
            return False

    return KeptInputs(
        kept_for=publisher.kept_for,
        kept_file=publisher.kept_file,
        running=running,
        secret=derived_secret(account, "c2d kept inputs"),
        public_url=public_url,
    )


def _min_job_duration(config: ProviderConfig, env_id: str) -> int:
    env = config.environment(env_id)
    return env.job_min_duration if env else 0


def _close(expiry: ResultExpiry | None, state: State) -> None:
    if expiry is not None:
        expiry.close()
    state.close()


def _result_expiry(
    settings: Settings, config: ProviderConfig, leader: Leadership
) -> ResultExpiry | None:
    """On a cluster with a result store: its expiry, run by the settlement leader."""
    store = result_store() if settings.engine == "argo" else None
    if store is None:
        return None
    keep = max(env.storage_expiry for env in config.environments)
    expiry = ResultExpiry(store, keep_seconds=keep, leader=leader, clock=time.time)
    expiry.start()
    return expiry


def _metrics(
    config: ProviderConfig,
    engine: Engine,
    settler: SettlementSource | None,
    index: IndexProgress | None,
) -> Metrics:
    collected = Metrics(env.id for env in config.environments)
    collected.watch(engine)
    if settler is not None:
        collected.watch_settlements(settler)
    if index is not None:
        collected.watch_index(index)
    return collected


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    built = services or build_services(settings)
    token = settings.operator_token
    operator = ui.build_ui(token.get_secret_value() if token else None, built.metrics)
    # py_ecc (imported with eth_account) raises the limit to 100000 on import; the C JSON parser
    # then overflows the stack on a deeply nested body (a 200 KB request killed the process).
    # c2d needs no deep recursion: back to CPython's default, after every import.
    sys.setrecursionlimit(_RECURSION_LIMIT)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _log.info("c2d %s ready; sandbox: %s", __version__, built.sandbox_description)
        sampler = (
            asyncio.create_task(ui.sample_forever(operator.history))
            if operator.gate.enabled
            else None
        )
        if built.index is not None:
            built.index.start()
        yield
        if built.index is not None:
            built.index.close()
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        built.engine.close()
        built.close_state()

    app = FastAPI(
        title="c2d",
        version=__version__,
        description="Compute-to-Data provider, compatible with Ocean Node's compute API",
        lifespan=lifespan,
    )
    app.state.services = built
    app.state.ui = operator
    install_error_handlers(app, pages={ui.PREFIX: ui.error_page_response})
    routers = (
        discovery,
        auth,
        environments,
        compute,
        payments,
        results,
        metrics,
        access,
        aquarius,
        decrypt,
        ui,
    )
    for module in routers:
        app.include_router(module.router)
    # Innermost: the rate limit, size limit and metrics see every poll it answers.
    app.add_middleware(StatusPolls, jobs=built.jobs)
    app.add_middleware(
        RateLimit, per_ip=RatePolicy(settings.rate_limit_ip, settings.rate_limit_ip_burst)
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    # Outermost: times every request, refusals by the size limit included.
    app.add_middleware(RequestMetrics, metrics=built.metrics)
    return app
