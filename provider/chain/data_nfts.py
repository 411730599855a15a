"""The data NFTs of one chain's Ocean deployment: whether its ERC721Factory created one, the
metadata events they emit (decoded with the template's ABI) and their metadata state.

One piece for every reader of these events: the indexer follows them through the logs, POST
decrypt finds one in a transaction's receipt. Both decode them here, into the same
``MetadataEvent``.
"""

from __future__ import annotations

import warnings
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from provider.assets.onchain import MetadataEvent
from provider.chain.abi import load_abi
from provider.chain.client import ChainClient

__all__ = ["DOCUMENT_EVENTS", "METADATA_EVENTS", "DataNfts", "metadata_event"]

# The events that carry a DDO, in the order a transaction's are looked for (Ocean Node's).
DOCUMENT_EVENTS = ("MetadataCreated", "MetadataUpdated")
METADATA_EVENTS = (*DOCUMENT_EVENTS, "MetadataState")


class DataNfts:
    def __init__(self, client: ChainClient, factory: str) -> None:
        self.chain_id = client.chain_id
        self._client = client
        self._factory = client.contract("ERC721Factory", factory)
        self._template = client.w3.eth.contract(abi=load_abi("ERC721Template"))
        self.topics = {str(self._template.events[name]().topic): name for name in METADATA_EVENTS}

    def factory_made(self, address: str) -> bool:
        """Whether the served deployment's factory created this NFT (others are ignored)."""
        listed = self._factory.functions.erc721List(to_checksum_address(address)).call()
        return str(listed).lower() == address.lower()

    def decode(self, log: Any) -> tuple[str, Any]:
        """A metadata log (its topic one of ``topics``) → the event's name and arguments."""
        name = self.topics[log["topics"][0].to_0x_hex()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return name, self._template.events[name]().process_log(log)["args"]

    def metadata_state(self, address: str) -> int:
        """The NFT's metadata state now (ERC721Template.getMetaData)."""
        found = self._client.contract("ERC721Template", address).functions.getMetaData().call()
        return int(found[2])

    def receipt(self, tx: str) -> TxReceipt | None:
        """The receipt of ``tx``; None when the chain has no such (mined) transaction."""
        try:
            return self._client.w3.eth.get_transaction_receipt(HexBytes(tx))
        except TransactionNotFound:
            return None

    def document_event(self, receipt: TxReceipt, nft: str) -> MetadataEvent | None:
        """The DDO that ``nft`` itself set in ``receipt``: its first MetadataCreated, else its
        first MetadataUpdated (other contracts' look-alike events are not looked at)."""
        template = self._client.contract("ERC721Template", nft)
        for name in DOCUMENT_EVENTS:
            found = self._client.events(template, name, receipt)
            if found:
                return metadata_event(found[0]["args"])
        return None


def metadata_event(args: Any) -> MetadataEvent:
    """The document a MetadataCreated or MetadataUpdated event's arguments carry."""
    return MetadataEvent(
        flags=bytes(args["flags"]),
        data=bytes(args["data"]),
        metadata_hash=bytes(args["metaDataHash"]),
    )
