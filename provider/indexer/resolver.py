"""Resolve a DID from the index: a database read, after letting the index catch up when it is
a few blocks behind (what was published a moment ago is found; a long catch-up is left to the
background runner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from provider.assets.ddo import Ddo, did_hex
from provider.assets.onchain import NftFacts, decrypt_service_files, parse_ddo, with_nft
from provider.assets.resolver import check_usable
from provider.chain.block_ranges import LOG_RANGE
from provider.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from provider.indexer.follower import ChainIndexer
from provider.indexer.store import AssetRecord, IndexStore

__all__ = ["IndexResolver", "served_ddo"]

# A request catches the index up itself only when it is this few blocks behind.
INLINE_CATCH_UP = 2 * LOG_RANGE
_REFUSALS: dict[int, type[BadRequest | Forbidden]] = {400: BadRequest, 403: Forbidden}


class IndexResolver:
    def __init__(
        self, indexer: ChainIndexer, store: IndexStore, decrypt: Callable[[bytes], bytes]
    ) -> None:
        self.chain_id = indexer.chain_id
        self._indexer = indexer
        self._store = store
        self._decrypt = decrypt

    def record(self, did: str) -> AssetRecord:
        """The asset as indexed on this chain; NotFound, or 503 when the chain cannot say."""
        key = "did:op:" + did_hex(did)
        unreadable: ServiceUnavailable | None = None
        behind = 0
        try:
            behind = self._indexer.catch_up(only_within=INLINE_CATCH_UP).behind
        except ServiceUnavailable as error:
            unreadable = error  # what is indexed still answers
        found = self._store.asset(key)
        if found is not None and found.metadata.chain_id == self.chain_id:
            return found
        if unreadable is not None:
            raise unreadable
        if behind:
            raise ServiceUnavailable(
                f"chain {self.chain_id}: the index is {behind} blocks behind the chain's head;"
                f" asset {did} may be among them, try again"
            )
        raise NotFound(f"asset {did} not found on chain {self.chain_id}")

    def resolve(self, did: str) -> Ddo:
        record = self.record(did)
        event = record.metadata
        plain = _readable(record)
        facts = NftFacts(
            address=event.nft, chain_id=event.chain_id, state=record.state, owner=event.owner
        )
        ddo = with_nft(parse_ddo(plain.encode(), nft=facts), facts)
        return check_usable(decrypt_service_files(ddo, self._decrypt))


def served_ddo(record: AssetRecord) -> dict[str, Any]:
    """The DDO as Ocean's Aquarius serves it: as published (service files still encrypted),
    with the ``nft`` facts and the ``event`` that set it from the chain."""
    event = record.metadata
    document: dict[str, Any] = json.loads(_readable(record))
    claimed = document.get("nft")
    nft: dict[str, Any] = claimed if isinstance(claimed, dict) else {}
    document["nft"] = {**nft, "address": event.nft, "state": record.state, "owner": event.owner}
    document["event"] = {
        "tx": event.tx,
        "block": event.block,
        "from": event.sender,
        "contract": event.nft,
        "datetime": datetime.fromtimestamp(event.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return document


def _readable(record: AssetRecord) -> str:
    event = record.metadata
    if event.status == "ok" and event.ddo is not None:
        return event.ddo
    refusal = _REFUSALS.get(event.error_code, Forbidden)
    raise refusal(event.reason or f"asset {event.did} cannot be read ({event.status})")
