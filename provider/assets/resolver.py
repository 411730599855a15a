"""Asset resolution: a DID → its DDO, from a local registry folder of DDO JSON files."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import ValidationError

from provider.assets.ddo import Ddo, did_for, did_hex
from provider.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable

__all__ = [
    "NFT_STATES",
    "USABLE_NFT_STATES",
    "AssetResolver",
    "FirstFound",
    "RegistryResolver",
    "check_usable",
    "first_found",
]

_log = logging.getLogger("c2d.assets")

_T = TypeVar("_T")

# Ocean's data NFT metadata states (ERC721Template.metaDataState).
NFT_STATES = {
    0: "active",
    1: "end-of-life",
    2: "deprecated",
    3: "revoked",
    4: "ordering disabled",
    5: "unlisted",
}
# Unlisted assets are hidden from markets but still usable by those who know the DID.
USABLE_NFT_STATES = frozenset({0, 5})

# (file name, mtime in ns, size) of every *.json: equal signatures mean nothing to reload.
_Signature = tuple[tuple[str, int, int], ...]


class AssetResolver(Protocol):
    def resolve(self, did: str) -> Ddo:
        """The usable DDO of ``did``; NotFound, BadRequest (malformed DID) or Forbidden (state)."""
        ...


def check_usable(ddo: Ddo) -> Ddo:
    """Return ``ddo`` if its NFT state lets it be used; Forbidden naming the state otherwise."""
    state = ddo.nft_state
    if state not in USABLE_NFT_STATES:
        name = NFT_STATES.get(state, "in an unknown state")
        raise Forbidden(f"asset {ddo.id} is {name} (nft state {state}) and cannot be used")
    return ddo


class RegistryResolver:
    """DDOs from ``*.json`` files in one folder, indexed by their ``id`` whatever the file name.

    The folder is rescanned (names, mtimes and sizes only) on every resolve, and parsed again
    only when that changes, so assets written while the provider runs are found at once.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._signature: _Signature | None = None
        self._index: dict[str, Ddo] = {}

    def resolve(self, did: str) -> Ddo:
        key = did_hex(did)
        with self._lock:
            self._refresh()
            ddo = self._index.get(key)
        if ddo is None:
            raise NotFound(f"asset {did} not found")
        return check_usable(ddo)

    def _refresh(self) -> None:
        signature = self._scan()
        if signature == self._signature:
            return
        index: dict[str, Ddo] = {}
        for name, _, _ in signature:
            ddo = self._load(self._folder / name)
            if ddo is None:
                continue
            key = did_hex(ddo.id)
            if key in index:
                _log.warning("asset registry: %s repeats %s; keeping the first file", name, ddo.id)
                continue
            index[key] = ddo
        self._index = index
        self._signature = signature

    def _scan(self) -> _Signature:
        try:
            entries = list(os.scandir(self._folder))
        except FileNotFoundError:
            return ()
        found = []
        for entry in entries:
            if not entry.name.endswith(".json"):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError:
                continue  # removed between listing and stat: absent as far as we are concerned
            found.append((entry.name, stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(found))

    def _load(self, path: Path) -> Ddo | None:
        """The DDO in ``path``, or None (with a warning) when it is not a valid, consistent DDO."""
        try:
            ddo = Ddo.model_validate(json.loads(path.read_bytes()))
        except (OSError, ValueError, ValidationError) as error:
            # ValidationError is a ValueError; both named to say what we expect. The message
            # has no file contents: a DDO may carry file URLs with credentials in them.
            _log.warning("asset registry: skipping %s: %s", path.name, _describe(error))
            return None
        try:
            expected = did_for(ddo.nft_address, ddo.chain_id)
        except BadRequest as error:
            _log.warning("asset registry: skipping %s: %s", path.name, error.message)
            return None
        if did_hex(expected) != did_hex(ddo.id):
            # A file must not claim another NFT's DID: the id is derived, not chosen.
            _log.warning(
                "asset registry: skipping %s: id %s is not the DID of nftAddress %s on chain %d"
                " (expected %s)",
                path.name,
                ddo.id,
                ddo.nft_address,
                ddo.chain_id,
                expected,
            )
            return None
        return ddo


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        return f"{where}: {problem['msg']}" if where else problem["msg"]
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return f"not JSON ({type(error).__name__})"


class FirstFound:
    """Ask each resolver in turn; the first that knows the DID answers (NotFound otherwise)."""

    def __init__(self, *resolvers: AssetResolver) -> None:
        self._resolvers = resolvers

    def resolve(self, did: str) -> Ddo:
        return first_found([resolver.resolve for resolver in self._resolvers], did)


def first_found(lookups: Sequence[Callable[[str], _T]], did: str) -> _T:
    """The first lookup that knows ``did`` answers. One that cannot be read now (its chain is
    down) does not stop the others; when none knows the DID and one could not be read, that is
    the answer (503)."""
    missing: NotFound | None = None
    unreadable: ServiceUnavailable | None = None
    for lookup in lookups:
        try:
            return lookup(did)
        except NotFound as error:
            missing = error
        except ServiceUnavailable as error:
            unreadable = error
    raise unreadable or missing or NotFound(f"asset {did} not found")
