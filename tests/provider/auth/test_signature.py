"""Signer recovery accepts what Ocean clients send and refuses malformed signatures with 401."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from provider.auth.signature import Command, recover_signer, request_message
from provider.client import sign_request
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
    assert recover_signer(message, signature) == account.address


def test_accepts_v_as_recovery_id_and_without_prefix(account: LocalAccount) -> None:
    signature = bytes.fromhex(sign_request(account, 1, "c")[2:])
    zero_based = signature[:-1] + bytes([signature[-1] - 27])
    message = request_message(account.address, 1, "c")
    assert recover_signer(message, "0x" + zero_based.hex()) == account.address
    assert recover_signer(message, signature.hex().upper()) == account.address


def test_other_message_recovers_another_address(account: LocalAccount) -> None:
    signature = sign_request(account, 1, Command.STOP_COMPUTE)
    other = request_message(account.address, 2, Command.STOP_COMPUTE)
    assert recover_signer(other, signature) != account.address


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
        recover_signer("0xabc1stopCompute", signature)
    assert words in caught.value.message
