"""Build the engine the provider runs jobs on, from settings and the environments' runtimes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from provider.environments import EnvironmentConfig, ProviderConfig
from provider.errors import ConfigError
from provider.images import RegistryImages, pull_secret_config
from provider.result_store import S3ResultReader
from provider.runtime_check import check_local_runtimes
from provider.settings import Settings
from steps.storage import ENVIRONMENT_STORAGE_ENV, RESULT_STORAGE_ENV
from workflows.contract import FTPS_CA_FILE_ENV, SOURCE_NETWORKS_ENV
from workflows.dag import Placement, StepImages
from workflows.engines.base import Engine, EngineError
from workflows.engines.local.engine import NO_CGROUPS, LocalEngine
from workflows.engines.local.runtime import Runtime, SandboxUnavailable
from workflows.result_store import ResultStore, ResultStoreError

__all__ = [
    "argo_images",
    "argo_placements",
    "build_argo_engine",
    "build_engine",
    "build_local_engine",
    "result_reader",
    "result_storage_env",
    "result_store",
]

_GIB = 2**30


def build_engine(
    settings: Settings, config: ProviderConfig, provider_key: bytes | None = None
) -> tuple[Engine, str]:
    """The engine ``C2D_ENGINE`` names and a one-line description of it (logged at start);
    ``provider_key`` opens the registry credentials a job brings."""
    if settings.engine == "argo":
        return build_argo_engine(settings, config, provider_key)
    return build_local_engine(settings, config, provider_key)


def build_local_engine(
    settings: Settings, config: ProviderConfig, provider_key: bytes | None = None
) -> tuple[LocalEngine, str]:
    """The local engine and a one-line description of its sandbox."""
    check_local_runtimes(config, settings.config)
    runtimes = {
        env.id: {
            image: Runtime(binds=rt.binds, path=rt.path, commands=dict(rt.commands))
            for rt in env.runtimes
            for image in rt.images
        }
        for env in config.environments
    }
    try:
        engine = LocalEngine(
            jobs_dir=settings.jobs_dir,
            results_dir=settings.results_dir,
            db_path=settings.state_dir / "jobs.sqlite",
            runtimes=runtimes,
            images=StepImages(steps=settings.steps_image),
            concurrency={env.id: _slots(env, settings) for env in config.environments},
            default_concurrency=settings.max_concurrent_jobs,
            max_queued=settings.max_queued_jobs,
            step_env={
                SOURCE_NETWORKS_ENV: settings.source_networks,
                **({FTPS_CA_FILE_ENV: str(settings.ftps_ca_file)} if settings.ftps_ca_file else {}),
                **result_storage_env(settings, config),
            },
            storage_expiry=lambda env_id: _storage_expiry(config, env_id),
            cgroup_root=settings.cgroup_root,
            allow_weak_sandbox=settings.allow_weak_sandbox,
            image_source=RegistryImages(settings, config, provider_key)
            if any(env.registry_images for env in config.environments)
            else None,
        )
    except SandboxUnavailable as error:
        raise EngineError(f"cannot start the local engine: {error}{_hint(error)}") from error
    if engine.weak_sandbox:
        return engine, f"WEAK SANDBOX (C2D_ALLOW_WEAK_SANDBOX=1): {engine.sandbox_description}"
    return engine, engine.sandbox_description


def result_storage_env(settings: Settings, config: ProviderConfig) -> dict[str, str]:
    """The result storage caps, in bytes, as publish reads them (see steps/storage.py)."""
    if settings.max_result_storage is not None:
        host = int(settings.max_result_storage * _GIB)
    else:
        host = shutil.disk_usage(_existing(settings.results_dir)).total // 2
    per_environment = {
        env.id: int(env.max_result_storage * _GIB)
        for env in config.environments
        if env.max_result_storage is not None
    }
    return {RESULT_STORAGE_ENV: str(host), ENVIRONMENT_STORAGE_ENV: json.dumps(per_environment)}


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the folder may not be created yet)."""
    return next(folder for folder in (path, *path.parents) if folder.exists())


def _hint(error: SandboxUnavailable) -> str:
    if not str(error).startswith(NO_CGROUPS):
        return ""
    return (
        "; run c2d as root with cgroup v2 (under systemd: Delegate=yes, see docs/running.md)"
        " or v1, or set C2D_ALLOW_WEAK_SANDBOX=1 to run jobs with rlimits only"
    )


def _storage_expiry(config: ProviderConfig, env_id: str) -> int:
    """Seconds results are kept; a job whose environment left the config keeps the first's."""
    env = config.environment(env_id) or config.environments[0]
    return env.job_storage_expiry


def _slots(env: EnvironmentConfig, settings: Settings) -> int:
    """Jobs of an environment that run at once; the others wait in its queue."""
    limits = [env.max_jobs, settings.max_concurrent_jobs]
    if env.free is not None:
        limits.append(env.free.max_jobs)
    return min(limits)


# --- the cluster engine (C2D_ENGINE=argo) -------------------------------------------------------


def argo_images(settings: Settings) -> StepImages:
    return StepImages(
        steps=settings.steps_image,
        service_account=settings.argo_service_account,
        archive_logs=settings.argo_archive_logs,
        result_store=result_reader() is not None,
    )


def argo_placements(config: ProviderConfig) -> dict[str, Placement]:
    """Each environment's ``kubernetes`` block as the algorithm pods' placement."""
    return {
        env.id: Placement(
            runtime_class_name=env.kubernetes.runtime_class_name,
            node_selector=dict(env.kubernetes.node_selector),
            tolerations=tuple(env.kubernetes.tolerations),
        )
        for env in config.environments
        if env.kubernetes is not None
    }


def build_argo_engine(
    settings: Settings, config: ProviderConfig, provider_key: bytes | None = None
) -> tuple[Engine, str]:
    """The Argo engine: Workflows through the Argo Server when C2D_ARGO_SERVER is set, else
    through the Kubernetes API (in-cluster service account, ~/.kube/config, or C2D_KUBE_API)."""
    from kubernetes import client
    from kubernetes import config as kube_config

    from workflows.engines.argo import ArgoEngine, ArgoServerApi, ClusterApi, KubernetesApi

    configuration = client.Configuration()
    if settings.kube_api:
        configuration.host = settings.kube_api
    else:
        try:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except kube_config.ConfigException:
            try:
                kube_config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except (kube_config.ConfigException, OSError) as error:
                raise EngineError(
                    f"no Kubernetes credentials for the Argo engine: {error}"
                ) from None
    api: ClusterApi = KubernetesApi(client.ApiClient(configuration), settings.argo_namespace)
    if settings.argo_server:
        token = settings.argo_token.get_secret_value() if settings.argo_token else None
        api = ArgoServerApi(
            settings.argo_server, kube=api, token=token, verify=settings.argo_verify_tls
        )
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    reader = result_reader()
    engine = ArgoEngine(
        api,
        results_dir=settings.results_dir,
        images=argo_images(settings),
        placements=argo_placements(config),
        result_reader=reader,
        unschedulable_deadline=settings.argo_unschedulable_timeout,
        pull_secret=lambda spec: pull_secret_config(spec, provider_key),
    )
    where = reader.description if reader else f"result volume {settings.results_dir}"
    return engine, f"{engine.description}, results from the {where}"


def result_store() -> ResultStore | None:
    """The result store C2D_RESULT_STORE_* describe, or None (results on the shared volume)."""
    try:
        return ResultStore.from_env(os.environ)
    except ResultStoreError as error:
        raise ConfigError(str(error)) from None


def result_reader() -> S3ResultReader | None:
    store = result_store()
    return S3ResultReader(store) if store else None
