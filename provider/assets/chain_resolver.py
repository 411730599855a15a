"""Resolve ``did:op:`` from the chain: the factory's NFTs, their metadata events, a cache."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from web3.exceptions import Web3Exception

from provider.assets.ddo import Ddo, did_for, did_hex
from provider.assets.onchain import MetadataEvent, NftFacts, decode_metadata
from provider.assets.resolver import AssetResolver, check_usable
from provider.chain.block_ranges import block_ranges
from provider.chain.client import ChainClient
from provider.errors import NotFound, ServiceUnavailable

__all__ = ["ChainResolver", "FirstFound"]


@dataclass
class _Metadata:
    scanned_to: int  # last block whose metadata events are included
    event: MetadataEvent | None


class ChainResolver:
    """DIDs of the NFTs ``factory`` created, indexed incrementally; metadata events per NFT
    cached and extended from the last block read. State and owner are read on every resolve,
    so a revoked asset is refused at once."""

    def __init__(
        self,
        client: ChainClient,
        *,
        factory: str,
        start_block: int,
        decrypt: Callable[[bytes], bytes],
    ) -> None:
        self._client = client
        self._factory = client.contract("ERC721Factory", factory)
        self._chain_id = client.chain_id
        self._decrypt = decrypt
        self._lock = threading.Lock()
        self._nfts: dict[str, str] = {}
        self._created: dict[str, int] = {}  # NFT address → the block it was created in
        self._nfts_scanned_to = start_block - 1
        self._metadata: dict[str, _Metadata] = {}

    def resolve(self, did: str) -> Ddo:
        key = did_hex(did)
        try:
            with self._lock:
                nft = self._nft(key)
                if nft is None:
                    raise NotFound(f"asset {did} not found on chain {self._chain_id}")
                event = self._latest_metadata(nft)
            if event is None:
                raise NotFound(f"asset {did} has no metadata on chain {self._chain_id}")
            contract = self._client.contract("ERC721Template", nft)
            _url, _decryptor, state, _has = contract.functions.getMetaData().call()
            owner = str(contract.functions.ownerOf(1).call())
        except (Web3Exception, OSError) as error:
            raise ServiceUnavailable(
                f"chain {self._chain_id} cannot be read now: {error}"
            ) from None
        facts = NftFacts(address=nft, chain_id=self._chain_id, state=int(state), owner=owner)
        return check_usable(decode_metadata(event, facts, self._decrypt))

    def _nft(self, key: str) -> str | None:
        if key not in self._nfts:
            latest = int(self._client.w3.eth.block_number)
            event = self._factory.events.NFTCreated()
            for start, end in block_ranges(self._nfts_scanned_to + 1, latest):
                for log in event.get_logs(from_block=start, to_block=end):
                    address = str(log["args"]["newTokenAddress"])
                    self._nfts[did_hex(did_for(address, self._chain_id))] = address
                    self._created[address] = int(log["blockNumber"])
                self._nfts_scanned_to = end  # a failure later resumes from here
        return self._nfts.get(key)

    def _latest_metadata(self, nft: str) -> MetadataEvent | None:
        # Metadata is set after the NFT exists: nothing before its creation is read.
        created = self._created.get(nft, 0)
        cached = self._metadata.get(nft) or _Metadata(scanned_to=created - 1, event=None)
        latest = int(self._client.w3.eth.block_number)
        if latest > cached.scanned_to:
            contract = self._client.contract("ERC721Template", nft)
            found = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for start, end in block_ranges(cached.scanned_to + 1, latest):
                    for name in ("MetadataCreated", "MetadataUpdated"):
                        found.extend(
                            contract.events[name]().get_logs(from_block=start, to_block=end)
                        )
            if found:
                newest = max(found, key=lambda log: (log["blockNumber"], log["logIndex"]))
                args = newest["args"]
                cached.event = MetadataEvent(
                    flags=bytes(args["flags"]),
                    data=bytes(args["data"]),
                    metadata_hash=bytes(args["metaDataHash"]),
                )
            cached.scanned_to = latest
            self._metadata[nft] = cached
        return cached.event


class FirstFound:
    """Ask each resolver in turn; the first that knows the DID answers (NotFound otherwise)."""

    def __init__(self, *resolvers: AssetResolver) -> None:
        self._resolvers = resolvers

    def resolve(self, did: str) -> Ddo:
        """A resolver that cannot be read now (its chain is down) does not stop the others;
        when none knows the DID and one could not be read, that is the answer (503)."""
        missing: NotFound | None = None
        unreadable: ServiceUnavailable | None = None
        for resolver in self._resolvers:
            try:
                return resolver.resolve(did)
            except NotFound as error:
                missing = error
            except ServiceUnavailable as error:
                unreadable = error
        raise unreadable or missing or NotFound(f"asset {did} not found")
