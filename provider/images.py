"""Registry images for the local engine: the environments' policy and the shared image cache.

The engine asks ``accepts`` when a job is admitted and ``acquire`` before it runs
(workflows/engines/local/runner.py); this module turns both into steps/images calls: the
environment's patterns, a registry client behind the source guard, the cache with its caps.
"""

from __future__ import annotations

from provider.environments import EnvironmentConfig, ProviderConfig
from provider.errors import BadRequest
from provider.jobs.registry_auth import open_registry_auth
from provider.settings import Settings
from steps.images.cache import CacheStats, ImageCache
from steps.images.policy import image_allowed
from steps.images.reference import DEFAULT_REGISTRY, ImageReference, parse_reference
from steps.images.registry import Progress, PullError, RegistryClient, insecure_registries
from steps.images.registry_auth import docker_config_json
from steps.images.runconfig import image_env, image_user
from steps.readers.guard import SourcePolicy
from workflows.engines.local.runtime import PulledImage, PullFailed, Runtime
from workflows.spec import Container, JobSpec

__all__ = ["RegistryImages", "pull_secret_config", "registry_image_allowed", "registry_reference"]

_GIB = 2**30


def registry_reference(container: Container) -> ImageReference:
    """The reference a container names (InvalidReference when it names none)."""
    tag = container.tag if not container.tag.startswith("sha256:") else ""
    digest = container.checksum or (container.tag if container.tag.startswith("sha256:") else "")
    return parse_reference(container.image, tag, digest)


def pull_secret_config(spec: JobSpec, provider_key: bytes | None) -> str:
    """The ``.dockerconfigjson`` of the image pull Secret for a job that brought credentials
    (the Argo engine; the kubelet knows Docker Hub by its legacy address)."""
    assert spec.registry_auth is not None
    credentials = open_registry_auth(spec.registry_auth, provider_key)
    registry = registry_reference(spec.algorithm.container).registry
    if registry == DEFAULT_REGISTRY:
        registry = "https://index.docker.io/v1/"
    return docker_config_json(registry, credentials)


def registry_image_allowed(container: Container, env: EnvironmentConfig) -> bool:
    if not env.registry_images:
        return False
    ref = registry_reference(container)
    return image_allowed(env.registry_images, ref, env.registry_digests_only)


class RegistryImages:
    def __init__(
        self, settings: Settings, config: ProviderConfig, provider_key: bytes | None = None
    ) -> None:
        self._config = config
        self._provider_key = provider_key
        self.cache = ImageCache(settings.images_dir, int(settings.image_cache_size * _GIB))
        self._policy = SourcePolicy.parse(settings.source_networks)
        self._insecure = insecure_registries(
            {"C2D_INSECURE_REGISTRIES": settings.insecure_registries}
        )

    def _client(self, spec: JobSpec, progress: Progress) -> RegistryClient:
        """A client of its own per pull: a job's credentials (and the tokens they earn) serve
        that job only."""
        credentials = None
        if spec.registry_auth:
            credentials = open_registry_auth(spec.registry_auth, self._provider_key)
        return RegistryClient(self._policy, self._insecure, credentials, progress=progress)

    def stats(self) -> CacheStats:
        return self.cache.stats

    def accepts(self, spec: JobSpec) -> bool:
        env = self._config.environment(spec.environment)
        return env is not None and registry_image_allowed(spec.algorithm.container, env)

    def acquire(self, spec: JobSpec, progress: Progress) -> PulledImage:
        env = self._config.environment(spec.environment)
        cap = int((env.max_image_size if env else 10) * _GIB)
        try:
            ref = registry_reference(spec.algorithm.container)
            lease = self.cache.acquire(self._client(spec, progress), ref, cap)
        except BadRequest as error:  # sealed credentials this key no longer opens
            raise PullFailed(error.message) from None
        except (PullError, ValueError) as error:
            raise PullFailed(str(error)) from None
        except OSError as error:  # the cache's own disk (full, unwritable)
            raise PullFailed(f"could not store the image: {error.strerror or error}") from None
        try:
            runtime = Runtime(
                binds=(),
                root=str(lease.rootfs),
                env=image_env(lease.config),
                working_dir=lease.config.get("WorkingDir") or None,
                user=image_user(lease.rootfs, lease.config),
            )
        except (PullError, OSError) as error:
            self.cache.release(lease)
            raise PullFailed(str(error)) from None
        how = "cached" if lease.cached else f"pulled {lease.fetched_bytes} bytes"
        description = f"{ref} ({lease.digest}, {how}, {lease.unpacked_bytes} bytes unpacked)"
        return PulledImage(runtime, description, lambda: self.cache.release(lease))
