"""The ``chains:`` block of the config file: one entry per EVM chain the provider serves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ChainConfig"]


class ChainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    chain_id: int = Field(alias="chainId", gt=0)
    # Tried in order; the next one is used when one times out or errors.
    rpc: tuple[str, ...] = Field(min_length=1)
    # A network name of Ocean's address.json shipped with c2d, or a path to a file in its shape.
    addresses: str = Field(min_length=1)
    # Where reading the chain's events starts; default: the deployment's startBlock.
    start_block: int | None = Field(default=None, alias="startBlock", ge=0)
    # An order or an escrow deposit counts once its block is this deep (1: mined).
    confirmations: int = Field(default=1, ge=1, le=1000)

    @field_validator("rpc", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("rpc")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is no http(s) URL")
        return urls
