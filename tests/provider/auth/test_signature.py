"""Signer recovery accepts what Ocean clients send and refuses malformed signatures with 401."""

from __future__ import annotations

from itertools import count

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from devkit.client import sign_request
from provider.auth.signature import Command, recover_signers, request_message
from provider.errors import Unauthorized


def test_command_values_are_the_ocean_node_names() -> None:
    assert Command.FREE_START_COMPUTE.value == "freeStartCompute"
    assert str(Command.CREATE_AUTH_TOKEN) == "createAuthToken"
    assert f"{Command.STOP_COMPUTE}" == "stopCompute"


def test_message_is_address_nonce_command() -> None:
    assert request_message("0xAbC", 7, Command.STOP_COMPUTE) == "0xAbC7stopCompute"
    assert request_message("0xabc", "12", "x") == "0xabc12x"


def test_recovers_the_client_signer(account: LocalAccount) -> None:
    signature = sign_request(account, 5, Command.FREE_START_COMPUTE)
    message = request_message(account.address, 5, Command.FREE_START_COMPUTE)
    assert account.address in recover_signers(message, signature)


def test_accepts_v_as_recovery_id_and_without_prefix(account: LocalAccount) -> None:
    signature = bytes.fromhex(sign_request(account, 1, "c")[2:])
    zero_based = signature[:-1] + bytes([signature[-1] - 27])
    message = request_message(account.address, 1, "c")
    assert account.address in recover_signers(message, "0x" + zero_based.hex())
    assert account.address in recover_signers(message, signature.hex().upper())


def test_other_message_recovers_another_address(account: LocalAccount) -> None:
    signature = sign_request(account, 1, Command.STOP_COMPUTE)
    other = request_message(account.address, 2, Command.STOP_COMPUTE)
    assert account.address not in recover_signers(other, signature)


@pytest.mark.parametrize(
    ("signature", "words"),
    [
        ("", "65 bytes"),
        ("0x", "65 bytes"),
        ("0xzz", "hex"),
        ("not a signature", "hex"),
        ("0x" + "11" * 64, "65 bytes"),
        ("0x" + "11" * 66, "65 bytes"),
        ("0x" + "11" * 64 + "05", "v must be"),
        ("0x" + "11" * 64 + "25", "v must be"),
        ("0x" + "00" * 64 + "1b", "not a valid"),
        ("0x" + "ff" * 64 + "1c", "not a valid"),
    ],
)
def test_malformed_signatures_are_unauthorized(signature: str, words: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        recover_signers("0xabc1stopCompute", signature)
    assert words in caught.value.message


def _signed_bytes(account: LocalAccount, data: bytes) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(primitive=data)).signature).hex()


def test_accepts_the_digest_signed_without_its_leading_zero_byte() -> None:
    # ocean.js turns the digest into bytes through a number: a leading 0x00 byte is lost.
    account = Account.from_key(b"\x22" * 32)
    message = next(
        text
        for nonce in count(1)
        if keccak(text=(text := request_message(account.address, nonce, "stopCompute")))[0] == 0
    )
    digest = keccak(text=message)
    assert account.address in recover_signers(message, _signed_bytes(account, digest[1:]))
    assert account.address in recover_signers(message, _signed_bytes(account, digest))
    # Dropping a byte is accepted only where the client's conversion drops it: a leading zero.
    assert account.address not in recover_signers(message, _signed_bytes(account, digest[2:]))


def test_accepts_the_digest_signed_as_hex_text(account: LocalAccount) -> None:
    message = request_message(account.address, 3, Command.STOP_COMPUTE)
    text = "0x" + keccak(text=message).hex()
    signed = account.sign_message(encode_defunct(text=text))
    assert account.address in recover_signers(message, "0x" + bytes(signed.signature).hex())
    other = request_message(account.address, 4, Command.STOP_COMPUTE)
    assert account.address not in recover_signers(other, "0x" + bytes(signed.signature).hex())
