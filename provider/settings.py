"""Provider settings: read once from ``C2D_*`` environment variables at the edge (``c2d serve``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from provider.errors import ConfigError

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="C2D_", extra="ignore")

    home: Path = Field(default=Path(".c2d"), description="state, keys, assets and results")
    config: Path | None = Field(default=None, description="environments file (YAML or JSON)")
    provider_private_key: SecretStr | None = Field(
        default=None, description="hex key; generated into C2D_HOME/provider.key when unset"
    )
    steps_image: str = "c2d:0.1.0"
    public_url: str | None = Field(
        default=None, description="base URL clients reach this provider at (result links)"
    )
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)
    auth_token_lifetime: int = Field(default=3600, gt=0, description="seconds")
    max_concurrent_jobs: int = Field(default=4, gt=0)

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"

    @property
    def assets_dir(self) -> Path:
        return self.home / "assets"

    @property
    def key_file(self) -> Path:
        return self.home / "provider.key"


def load_settings() -> Settings:
    """Settings from the environment, or a ConfigError naming each bad ``C2D_*`` variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [
            f"  C2D_{str(problem['loc'][0]).upper()}: {problem['msg']}"
            for problem in error.errors()
            if problem["loc"]
        ]
        raise ConfigError("invalid settings:\n" + "\n".join(problems)) from None
