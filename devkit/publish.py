"""Publish an asset on a dev chain: the provider's minting (provider/assets/minting.py)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from provider.assets.minting import AssetDraft, Encrypt, Published, mint_datatokens
from provider.assets.minting import create_tokens as mint_tokens
from provider.assets.minting import publish_asset as mint_asset
from provider.chain.client import ChainClient
from provider.chain.files import DevChain

__all__ = ["AssetDraft", "Published", "create_tokens", "mint_datatokens", "publish_asset"]


def publish_asset(
    client: ChainClient,
    chain: DevChain,
    publisher: LocalAccount,
    draft: AssetDraft,
    *,
    provider_url: str,
    provider_address: str,
    encrypt: Encrypt,
) -> Published:
    return mint_asset(
        client,
        publisher,
        draft,
        factory=chain.address("ERC721Factory"),
        chain_id=chain.chain_id,
        provider_url=provider_url,
        provider_address=provider_address,
        encrypt=encrypt,
    )


def create_tokens(
    client: ChainClient, chain: DevChain, publisher: LocalAccount, name: str
) -> tuple[str, str]:
    """A data NFT and its datatoken from the dev chain's factory, with no metadata yet."""
    return mint_tokens(client, chain.address("ERC721Factory"), publisher, name)
