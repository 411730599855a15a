"""Follow one chain: read the data NFTs' metadata events block range by block range into the
index, resume from the stored cursor, and undo what a reorg replaced.

Reorgs: the hash of each range's last block (and of every block holding an event) is kept for
``reorg_window`` blocks. Each pass first compares the newest kept hash with the chain's; on a
mismatch it walks back to the newest block that still matches (the fork point), forgets what
was indexed after it and reads on from there. Equal hashes at a block mean equal history up to
it, so sparse hashes find the fork as surely as every block's would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3.exceptions import Web3Exception

from provider.assets.ddo import did_for
from provider.assets.onchain import (
    HashMismatch,
    MetadataEvent,
    NftFacts,
    UnreadableMetadata,
    open_metadata,
    parse_ddo,
)
from provider.chain.block_ranges import LOG_RANGE, block_ranges
from provider.chain.client import ChainClient, ChainError
from provider.chain.data_nfts import DataNfts, metadata_event
from provider.errors import BadRequest, C2DError, ServiceUnavailable
from provider.indexer.store import IndexedEvent, IndexStore

__all__ = ["REORG_WINDOW", "ChainIndexer", "IndexPass"]

_log = logging.getLogger("c2d.indexer")

# Blocks whose hashes are kept: reorgs deeper than this re-index from startBlock.
REORG_WINDOW = 1000
_KINDS = {"MetadataCreated": "created", "MetadataUpdated": "updated", "MetadataState": "state"}


@dataclass(frozen=True)
class IndexPass:
    """What one pass did: blocks ``start``..``end`` read (none when start > end)."""

    start: int
    end: int
    head: int
    events: int
    rolled_back_to: int | None = None

    @property
    def behind(self) -> int:
        return max(0, self.head - max(self.end, self.start - 1))


class ChainIndexer:
    def __init__(
        self,
        client: ChainClient,
        store: IndexStore,
        *,
        factory: str,
        start_block: int,
        decrypt: Callable[[bytes], bytes],
        step: int = LOG_RANGE,
        reorg_window: int = REORG_WINDOW,
    ) -> None:
        self.chain_id = client.chain_id
        self._client = client
        self._store = store
        self._nfts = DataNfts(client, factory)
        self._start = start_block
        self._decrypt = decrypt
        self._step = step
        self._window = reorg_window
        self.lock = threading.Lock()

    def catch_up(self, *, ranges: int | None = None, only_within: int | None = None) -> IndexPass:
        """Index up to the head, at most ``ranges`` block ranges; with ``only_within``, read
        nothing when further behind than that (a request does not wait for a long catch-up).
        ServiceUnavailable when the chain cannot be read (the cursor stays, the error is kept)."""
        with self.lock:
            done = self._done()
            try:
                return self._catch_up(done, ranges, only_within)
            except (OSError, Web3Exception, ChainError, ValueError) as error:
                where = f"indexed to block {done}" if done >= self._start else "nothing indexed yet"
                message = (
                    f"chain {self.chain_id}: the asset index cannot read the chain ({where}):"
                    f" {error}"
                )
                cursor = self._store.cursor(self.chain_id)
                self._store.record_failure(
                    self.chain_id,
                    block=cursor.block if cursor else done,
                    head=cursor.head if cursor else 0,
                    error=message,
                )
                raise ServiceUnavailable(message) from None

    def _done(self) -> int:
        cursor = self._store.cursor(self.chain_id)
        return cursor.block if cursor else self._start - 1

    def _catch_up(self, done: int, ranges: int | None, only_within: int | None) -> IndexPass:
        head = int(self._client.w3.eth.block_number)
        fork = self._fork_point(head, done)
        rolled_back_to = None
        if fork < done:
            _log.warning("chain %s: reorg; indexing again from block %s", self.chain_id, fork + 1)
            self._store.roll_back(self.chain_id, fork, head)
            done = rolled_back_to = fork
        if only_within is not None and head - done > only_within:
            return IndexPass(done + 1, done, head, 0, rolled_back_to)
        count, end = 0, done
        for number, (start, stop) in enumerate(block_ranges(done + 1, head, self._step)):
            if ranges is not None and number >= ranges:
                break
            last_hash = self._hash(stop)
            events, nfts, hashes = self._read(start, stop)
            if self._hash(stop) != last_hash:
                break  # the chain reorganised while reading: the next pass sees it
            self._store.commit_range(
                self.chain_id,
                to_block=stop,
                head=head,
                events=events,
                nfts=nfts,
                checkpoints=[*hashes, (stop, last_hash)],
                keep_from=stop - self._window,
            )
            count, end = count + len(events), stop
        if end == done:
            self._store.record_failure(self.chain_id, block=done, head=head, error="")
        return IndexPass(done + 1, end, head, count, rolled_back_to)

    def _fork_point(self, head: int, done: int) -> int:
        kept = self._store.checkpoints(self.chain_id)
        if not kept:
            return done
        for newest, (block, stored) in enumerate(kept):
            if block <= head and self._hash(block) == stored:
                return done if newest == 0 else block
        _log.warning("chain %s: reorg deeper than the hashes kept", self.chain_id)
        return self._start - 1

    def _hash(self, block: int) -> str:
        found: Any = self._client.w3.eth.get_block(block)
        return str(found["hash"].to_0x_hex())

    def log_filter(self, start: int, stop: int) -> Any:
        """The eth_getLogs filter of one range: every metadata event, whoever emitted it."""
        return {"fromBlock": start, "toBlock": stop, "topics": [list(self._nfts.topics)]}

    def _read(
        self, start: int, stop: int
    ) -> tuple[list[IndexedEvent], list[tuple[str, int, bool]], list[tuple[int, str]]]:
        logs = self._client.w3.eth.get_logs(self.log_filter(start, stop))
        ordered = sorted(logs, key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        events: list[IndexedEvent] = []
        nfts: dict[str, tuple[str, int, bool]] = {}
        hashes: dict[int, str] = {}
        for log in ordered:
            emitter = str(log["address"]).lower()
            ours = self._ours(emitter, nfts)
            if ours is None:
                ours = self._nfts.factory_made(emitter)
                nfts[emitter] = (emitter, int(log["blockNumber"]), ours)
            if not ours:
                continue
            hashes[int(log["blockNumber"])] = log["blockHash"].to_0x_hex()
            events.append(self._event(log))
        return events, list(nfts.values()), sorted(hashes.items())

    def _ours(self, emitter: str, seen: dict[str, tuple[str, int, bool]]) -> bool | None:
        if emitter in seen:
            return seen[emitter][2]
        return self._store.nft_is_ours(self.chain_id, emitter)

    def _event(self, log: Any) -> IndexedEvent:
        name, args = self._nfts.decode(log)
        nft = to_checksum_address(str(log["address"]))
        base: dict[str, Any] = {
            "chain_id": self.chain_id,
            "block": int(log["blockNumber"]),
            "log_index": int(log["logIndex"]),
            "did": did_for(nft, self.chain_id),
            "nft": nft,
            "kind": _KINDS[name],
            "state": int(args["state"]),
            "tx": log["transactionHash"].to_0x_hex(),
            "sender": str(args.get("createdBy") or args.get("updatedBy") or ""),
            "timestamp": int(args["timestamp"]),
        }
        if name == "MetadataState":
            return IndexedEvent(owner="", **base)
        owner = str(self._client.contract("ERC721Template", nft).functions.ownerOf(1).call())
        return IndexedEvent(owner=owner, **base, **self._verdict(metadata_event(args), base, owner))

    def _verdict(self, event: MetadataEvent, base: dict[str, Any], owner: str) -> dict[str, Any]:
        """The DDO of a metadata event, or why it is refused (kept so that asking answers why)."""
        facts = NftFacts(address=base["nft"], chain_id=self.chain_id, state=0, owner=owner)
        try:
            plain = open_metadata(event, did=base["did"], decrypt=self._decrypt)
            parse_ddo(plain, nft=facts)
            text = plain.decode()
        except UnicodeDecodeError:
            return _refused("invalid", BadRequest(f"asset {base['did']}: the DDO is not UTF-8"))
        except UnreadableMetadata as error:
            return _refused("unreadable", error)
        except HashMismatch as error:
            return _refused("hash-mismatch", error)
        except C2DError as error:
            return _refused("invalid", error)
        return {"status": "ok", "ddo": text}


def _refused(status: str, error: C2DError) -> dict[str, Any]:
    return {"status": status, "error_code": error.status_code, "reason": str(error)}
