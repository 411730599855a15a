"""Who may start jobs in an environment: Ocean Node's ``access`` block, and its check.

``addresses`` lists consumers by address; ``accessLists`` maps a chain id to ERC-721
access-list contracts, whose holders (``balanceOf(consumer) > 0``) are let in. An environment
with neither is open to everyone. The check reads the chain through an ``AccessListReader``
(provider/chain/access_lists.py), so this module stays free of I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from provider.errors import Forbidden

__all__ = ["AccessConfig", "AccessListReader", "check_access", "render_access"]

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class AccessConfig(BaseModel):
    """Ocean Node's ``ComputeAccessList``: listed addresses, or holders of an access-list token."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    addresses: tuple[str, ...] = Field(default=(), max_length=10_000)
    # Each entry: chain id (decimal string, as Ocean writes it) → access-list contracts there.
    access_lists: tuple[dict[str, tuple[str, ...]], ...] | None = Field(
        default=None, alias="accessLists"
    )

    @model_validator(mode="after")
    def _well_formed(self) -> AccessConfig:
        for address in (*self.addresses, *(c for _, c in self.contracts())):
            if not re.fullmatch(_ADDRESS, address):
                raise ValueError(f"{address!r} is not an address (0x and 40 hex digits)")
        for chain, _ in self.contracts():
            if not chain.isdigit():
                raise ValueError(f"accessLists: chain id {chain!r} is not a number")
        return self

    @property
    def restricted(self) -> bool:
        """Whether anyone is kept out. Ocean Node skips the check when ``accessLists`` is null
        even if ``addresses`` are listed; here listed addresses always restrict."""
        return bool(self.addresses) or any(True for _ in self.contracts())

    def contracts(self) -> list[tuple[str, str]]:
        """Every (chain id, contract) pair of ``accessLists``, in order."""
        return [
            (chain, contract)
            for entry in self.access_lists or ()
            for chain, contracts in entry.items()
            for contract in contracts
        ]


class AccessListReader(Protocol):
    def holds(self, chain_id: int, contract: str, address: str) -> bool:
        """Whether ``address`` holds a token of access-list ``contract`` on ``chain_id``
        (ServiceUnavailable when that chain cannot be read now)."""
        ...


def check_access(
    access: AccessConfig, consumer: str, reader: AccessListReader | None, *, environment: str
) -> None:
    """Raise Forbidden (Ocean Node's 403 ``Access denied``) unless ``consumer`` may use the
    environment; addresses compare case-insensitively."""
    if not access.restricted:
        return
    wanted = consumer.lower()
    if any(address.lower() == wanted for address in access.addresses):
        return
    if reader is not None:
        for chain, contract in access.contracts():
            if reader.holds(int(chain), contract, consumer):
                return
    raise Forbidden(
        f"Access denied: {consumer} is neither listed in environment {environment}'s access"
        " addresses nor holds a token of its access lists"
    )


def render_access(access: AccessConfig) -> dict[str, Any]:
    """The ``access`` block as Ocean Node lists it in an environment."""
    lists: list[Mapping[str, list[str]]] | None = (
        None
        if access.access_lists is None
        else [{chain: list(c) for chain, c in entry.items()} for entry in access.access_lists]
    )
    return {"addresses": list(access.addresses), "accessLists": lists}
