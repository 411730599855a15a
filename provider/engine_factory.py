"""Build the engine the provider runs jobs on, from settings and the environments' runtimes."""

from __future__ import annotations

from provider.environments import ProviderConfig
from provider.settings import Settings
from workflows.dag import StepImages
from workflows.engines.base import Engine, EngineError
from workflows.engines.local import LocalEngine, Runtime, SandboxUnavailable

__all__ = ["build_local_engine"]


def build_local_engine(settings: Settings, config: ProviderConfig) -> tuple[Engine, str]:
    """The local engine and a one-line description of its sandbox (logged at start)."""
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
        )
    except SandboxUnavailable as error:
        raise EngineError(f"cannot start the local engine: {error}") from error
    return engine, engine.sandbox_description
