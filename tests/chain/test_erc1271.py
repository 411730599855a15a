"""A consumer that is a contract wallet (ERC-1271): a request signed by the wallet's owner for
the wallet's address is accepted once the wallet says so; anyone else's signature is not."""

from __future__ import annotations

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from devkit.launch import ServerProcess
from tests.chain.erc1271_wallet import deploy_wallet
from tests.chain.market import Market


def _signed(signer: LocalAccount, address: str, nonce: int, command: str) -> str:
    digest = keccak(text=f"{address}{nonce}{command}")
    return "0x" + bytes(signer.sign_message(encode_defunct(primitive=digest)).signature).hex()


def _token(server: ServerProcess, wallet: str, signer: LocalAccount) -> httpx.Response:
    nonce = (
        int(
            httpx.get(server.url + "/api/services/nonce", params={"userAddress": wallet}).json()[
                "nonce"
            ]
        )
        + 1
    )
    body = {
        "address": wallet,
        "nonce": nonce,
        "signature": _signed(signer, wallet, nonce, "createAuthToken"),
    }
    return httpx.post(server.url + "/api/services/auth/token", json=body)


def test_contract_wallet_signs_through_its_owner(
    paid_server: ServerProcess, market: Market
) -> None:
    owner = market.new_consumer()
    wallet = deploy_wallet(market.client, owner)
    assert market.client.w3.eth.get_code(wallet)

    stranger = _token(paid_server, wallet, Account.create())
    assert stranger.status_code == 401
    assert stranger.json()["error"] == "signature does not match consumerAddress"

    accepted = _token(paid_server, wallet, owner)
    assert accepted.status_code == 200, accepted.text
    token = accepted.json()["token"]
    # The token is the wallet's: it lists the wallet's jobs (none yet).
    jobs = httpx.get(
        paid_server.url + "/api/services/compute",
        params={"consumerAddress": wallet},
        headers={"Authorization": token},
    )
    assert jobs.status_code == 200, jobs.text


def test_an_owner_signature_for_an_address_without_code_is_refused(
    paid_server: ServerProcess, market: Market
) -> None:
    owner = market.new_consumer()
    empty = Account.create().address  # no contract there: its owner cannot be asked
    answer = _token(paid_server, empty, owner)
    assert answer.status_code == 401
