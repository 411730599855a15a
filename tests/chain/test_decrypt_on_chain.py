"""POST /api/services/decrypt on a real ``c2d serve`` and the session's anvil with the real Ocean
contracts: an allowed indexer decrypts a DDO published for this provider, from the request or
from the transaction that set it (as Ocean Node's indexer asks), and is refused when the chain
says no: an NFT not from the factory, another NFT's transaction, a failed or unknown
transaction, a deprecated asset."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PublicKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from devkit.launch import ServerProcess, start_server
from devkit.publish import create_tokens
from provider.assets.ddo import did_for
from provider.assets.encryption import encrypt
from provider.chain.client import ChainClient
from provider.chain.files import DevChain
from tests.chain.access_list import AccessList
from tests.chain.homes import provider_home

INDEXER = Account.create()
TOKENLESS = Account.create()  # on the address list, without a token of the access list
# Runtime code that logs its calldata under MetadataCreated's topic (the caller as createdBy):
# a contract the factory never made, emitting what looks like a data NFT's event.
_TOPIC = keccak(text="MetadataCreated(address,uint8,string,bytes,bytes,bytes32,uint256,uint256)")
# CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY; CALLER PUSH32 topic CALLDATASIZE PUSH1 0 LOG2; STOP
_RUNTIME = bytes.fromhex("36600060003733") + b"\x7f" + _TOPIC + bytes.fromhex("366000a200")
# The constructor returns the runtime: PUSH1 size DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN
_LOOK_ALIKE = bytes.fromhex(f"60{len(_RUNTIME):02x}80600b6000396000f3") + _RUNTIME


@dataclass(frozen=True)
class Asset:
    nft: str
    ddo: str
    created: str  # the transaction of MetadataCreated
    flags: int
    data: bytes
    digest: bytes


@pytest.fixture(scope="module")
def access_list(dev_chain: DevChain) -> AccessList:
    """The decrypters' access list: INDEXER holds a token of it, TOKENLESS none."""
    gate = AccessList(
        ChainClient(dev_chain.rpc), Account.from_key(dev_chain.accounts[2].private_key)
    )
    gate.mint(INDEXER.address)
    return gate


@pytest.fixture(scope="module")
def server(
    chain_home: Path,
    dev_chain: DevChain,
    access_list: AccessList,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """A provider of its own (its own key and state) on the session's chain, with both of Ocean
    Node's decrypter rules: an address list and an access list."""
    home = provider_home(chain_home, tmp_path_factory.mktemp("decrypt-chain") / "home")
    env = {
        "C2D_ALLOWED_DECRYPTERS": f"{INDEXER.address},{TOKENLESS.address}",
        "C2D_DECRYPTER_ACCESS_LISTS": json.dumps({str(dev_chain.chain_id): [access_list.address]}),
    }
    served = start_server(home, env=env)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def public_key(server: ServerProcess) -> bytes:
    compressed = bytes.fromhex(httpx.get(server.url + "/").json()["nodePublicKey"][2:])
    return PublicKey.from_compressed_bytes(compressed).to_bytes()


@dataclass(frozen=True)
class Publisher:
    """A publisher on the session's chain, encrypting DDOs for the provider under test."""

    client: ChainClient
    chain: DevChain
    account: LocalAccount
    public_key: bytes

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    def document(self, nft: str, name: str) -> str:
        chain = self.chain_id
        return json.dumps(
            {"id": did_for(nft, chain), "version": "4.1.0", "chainId": chain, "n": name}
        )

    def set_metadata(self, nft: str, data: bytes, flags: int, digest: bytes) -> str:
        call = self.client.contract("ERC721Template", nft).functions.setMetaData(
            0, "http://provider", self.account.address, bytes([flags]), data, digest, []
        )
        receipt = self.client.transact(self.account, call, "setMetaData")
        return str(receipt["transactionHash"].to_0x_hex())

    def new_nft(self, name: str) -> str:
        nft, _datatoken = create_tokens(self.client, self.chain, self.account, name)
        return nft

    def publish(self, name: str, *, flags: int = 3) -> Asset:
        nft = self.new_nft(name)
        ddo = self.document(nft, name)
        plain = ddo.encode()
        data = lzma.compress(plain) if flags & 1 else plain
        data = encrypt(self.public_key, data) if flags & 2 else data
        digest = hashlib.sha256(plain).digest()
        return Asset(nft, ddo, self.set_metadata(nft, data, flags, digest), flags, data, digest)


@pytest.fixture(scope="module")
def publisher(dev_chain: DevChain, public_key: bytes) -> Publisher:
    account = Account.from_key(dev_chain.accounts[1].private_key)
    return Publisher(ChainClient(dev_chain.rpc), dev_chain, account, public_key)


@pytest.fixture(scope="module")
def asset(publisher: Publisher) -> Asset:
    return publisher.publish("decrypted")


class Indexer:
    """Signs as an indexer does, with a fresh nonce each time."""

    def __init__(self, server: ServerProcess, account: LocalAccount = INDEXER) -> None:
        self.server = server
        self.account = account

    def _nonce(self) -> int:
        answer = httpx.get(
            self.server.url + "/api/services/nonce",
            params={"userAddress": self.account.address},
        )
        return int(answer.json()["nonce"]) + 1

    def body(self, nft: str, chain: int, *, legacy: bool = False, **fields: Any) -> dict[str, Any]:
        """Ocean Node 3's indexer signs address + nonce + "decryptDDO"; older nodes signed
        transactionId + dataNftAddress + decrypterAddress + chainId + nonce."""
        nonce = self._nonce()
        message = f"{self.account.address}{nonce}decryptDDO"
        if legacy:
            message = (
                f"{fields.get('transactionId', '')}{to_checksum_address(nft)}"
                f"{self.account.address}{chain}{nonce}"
            )
        signed = self.account.sign_message(encode_defunct(keccak(text=message)))
        return {
            "decrypterAddress": self.account.address,
            "chainId": chain,
            "dataNftAddress": nft,
            "nonce": str(nonce),
            "signature": "0x" + bytes(signed.signature).hex(),
            **fields,
        }

    def post(self, nft: str, chain: int, **options: Any) -> httpx.Response:
        return httpx.post(
            self.server.url + "/api/services/decrypt",
            json=self.body(nft, chain, **options),
            timeout=60,
        )


def _document_fields(asset: Asset) -> dict[str, Any]:
    return {
        "encryptedDocument": "0x" + asset.data.hex(),
        "flags": asset.flags,
        "documentHash": "0x" + asset.digest.hex(),
    }


def test_the_publish_transaction_gives_the_ddo_as_ocean_nodes_indexer_asks(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    # The very body Ocean Node's indexer sends (BaseProcessor.decryptDDO): no document in it.
    answer = Indexer(server).post(asset.nft, publisher.chain_id, transactionId=asset.created)
    assert answer.status_code == 200, answer.text
    assert answer.text == asset.ddo
    assert answer.headers["content-type"].startswith("text/plain")


def test_an_update_transaction_gives_the_updated_ddo(
    server: ServerProcess, publisher: Publisher
) -> None:
    first = publisher.publish("before update")
    updated = publisher.document(first.nft, "after update").encode()
    data = encrypt(publisher.public_key, updated)
    tx = publisher.set_metadata(first.nft, data, 2, hashlib.sha256(updated).digest())
    indexer = Indexer(server)
    chain = publisher.chain_id
    # Signed the older way too, the transactionId in the message.
    answer = indexer.post(first.nft, chain, legacy=True, transactionId=tx)
    assert answer.status_code == 200, answer.text
    assert answer.text == updated.decode()
    # The create transaction still gives the DDO it set.
    assert indexer.post(first.nft, chain, transactionId=first.created).text == first.ddo


def test_the_document_in_the_request_still_decrypts_and_is_checked(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    indexer = Indexer(server)
    chain = publisher.chain_id
    answer = indexer.post(asset.nft, chain, legacy=True, **_document_fields(asset))
    assert answer.status_code == 200, answer.text
    assert answer.text == asset.ddo
    wrong = {**_document_fields(asset), "documentHash": "0x" + "00" * 32}
    refused = indexer.post(asset.nft, chain, **wrong)
    assert refused.status_code == 400
    assert refused.json()["error"] == "the decrypted document does not match documentHash"


def test_another_nfts_transaction_is_refused(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    other = publisher.publish("another")
    answer = Indexer(server).post(asset.nft, publisher.chain_id, transactionId=other.created)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == (
        f"transactionId {other.created} has no MetadataCreated or MetadataUpdated event"
        f" emitted by {asset.nft}"
    )


def _look_alike(client: ChainClient, account: LocalAccount, asset: Asset) -> tuple[str, str]:
    """A contract the factory never made, and a transaction in which it emits ``asset``'s
    MetadataCreated event word for word (its ABI encoding, as the NFT logged it)."""
    deployed = _raw(client, account, {"data": "0x" + _LOOK_ALIKE.hex()})
    impostor = to_checksum_address(str(deployed["contractAddress"]))
    assert client.w3.eth.get_code(impostor) == _RUNTIME
    original = client.w3.eth.get_transaction_receipt(asset.created)  # type: ignore[arg-type]
    logged = next(log for log in original["logs"] if log["topics"][0] == _TOPIC)
    emitted = _raw(client, account, {"to": impostor, "data": "0x" + bytes(logged["data"]).hex()})
    assert emitted["status"] == 1 and emitted["logs"][0]["topics"][0] == _TOPIC
    return impostor, emitted["transactionHash"].to_0x_hex()


def _raw(client: ChainClient, account: LocalAccount, tx: dict[str, Any]) -> Any:
    """Sent with a fixed gas limit, so a transaction that reverts is mined (status 0)."""
    signed = account.sign_transaction(
        {
            **tx,
            "gas": 500_000,
            "gasPrice": client.w3.eth.gas_price,
            "nonce": client.w3.eth.get_transaction_count(account.address),
            "chainId": client.chain_id,
            "value": 0,
        }
    )
    sent = client.w3.eth.send_raw_transaction(signed.raw_transaction)
    return client.w3.eth.wait_for_transaction_receipt(sent, timeout=60)


def test_an_nft_the_factory_did_not_make_is_refused(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    impostor, tx = _look_alike(publisher.client, publisher.account, asset)
    chain = publisher.chain_id
    indexer = Indexer(server)
    expected = f"{impostor} is not a data NFT created by the ERC721Factory of chain {chain}"
    for fields in ({"transactionId": tx}, _document_fields(asset)):
        answer = indexer.post(impostor, chain, **fields)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == expected
    # The look-alike event in a transaction does not stand for the real NFT's either.
    answer = indexer.post(asset.nft, chain, transactionId=tx)
    assert answer.status_code == 400
    assert "has no MetadataCreated or MetadataUpdated event emitted by" in answer.json()["error"]


def test_a_failed_or_unknown_transaction_is_refused(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    # Someone without the NFT's metadata role tries to set it: mined, reverted.
    client = publisher.client
    stranger = Account.from_key(publisher.chain.accounts[2].private_key)
    call = client.contract("ERC721Template", asset.nft).functions.setMetaData(
        0, "http://provider", stranger.address, b"\x00", b"{}", bytes(32), []
    )
    failed = _raw(client, stranger, {"to": asset.nft, "data": call._encode_transaction_data()})
    assert failed["status"] == 0
    failed_tx = failed["transactionHash"].to_0x_hex()
    chain = publisher.chain_id
    indexer = Indexer(server)
    answer = indexer.post(asset.nft, chain, transactionId=failed_tx)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"transactionId {failed_tx} failed on chain {chain}: it set no metadata"
    )
    unknown = "0x" + "ab" * 32
    answer = indexer.post(asset.nft, chain, transactionId=unknown)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"transactionId {unknown} is not a mined transaction on chain {chain}"
    )


def test_an_unserved_chain_is_refused(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    answer = Indexer(server).post(asset.nft, 1, transactionId=asset.created)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"chain 1 is not served by this provider (served: {publisher.chain_id})"
    )


def test_a_deprecated_asset_is_not_decrypted(server: ServerProcess, publisher: Publisher) -> None:
    deprecated = publisher.publish("deprecated", flags=2)
    template = publisher.client.contract("ERC721Template", deprecated.nft)
    call = template.functions.setMetaDataState(2)
    publisher.client.transact(publisher.account, call, "setMetaDataState")
    chain = publisher.chain_id
    answer = Indexer(server).post(deprecated.nft, chain, transactionId=deprecated.created)
    assert answer.status_code == 403
    assert answer.json()["error"] == (
        f"asset {did_for(deprecated.nft, chain)} is deprecated (metadata state 2):"
        " its DDO is not decrypted"
    )


def test_signature_lists_and_nonce_are_checked(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    chain = publisher.chain_id
    indexer = Indexer(server)
    stranger = Indexer(server, Account.create())
    answer = stranger.post(asset.nft, chain, transactionId=asset.created)
    assert answer.status_code == 403
    assert answer.json()["error"] == (
        f"{stranger.account.address} is not allowed to decrypt on this provider"
    )
    tokenless = Indexer(server, TOKENLESS).post(asset.nft, chain, transactionId=asset.created)
    assert tokenless.status_code == 403
    assert tokenless.json()["error"] == (
        f"{TOKENLESS.address} holds no token of the decrypter access lists of chain {chain}"
    )
    body = indexer.body(asset.nft, chain, transactionId=asset.created)
    forged = {**body, "signature": stranger.body(asset.nft, chain)["signature"]}
    url = server.url + "/api/services/decrypt"
    assert httpx.post(url, json=forged, timeout=60).status_code == 401
    assert httpx.post(url, json=body, timeout=60).status_code == 200
    replayed = httpx.post(url, json=body, timeout=60)
    assert replayed.status_code == 401
    assert f"nonce {body['nonce']} is not greater" in replayed.json()["error"]


def test_a_deeply_nested_document_is_a_400_and_the_provider_lives_on(
    server: ServerProcess, publisher: Publisher, asset: Asset
) -> None:
    nested = ("[" * 100_000 + "]" * 100_000).encode()
    fields = {
        "encryptedDocument": "0x" + encrypt(publisher.public_key, nested).hex(),
        "flags": 2,
        "documentHash": hashlib.sha256(nested).hexdigest(),
    }
    chain = publisher.chain_id
    answer = Indexer(server).post(publisher.new_nft("nested"), chain, **fields)
    assert answer.status_code == 400
    assert answer.json()["error"] == "the decrypted document is not a JSON DDO"
    assert server.process.poll() is None
    again = Indexer(server).post(asset.nft, chain, transactionId=asset.created)
    assert again.text == asset.ddo
