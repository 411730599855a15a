"""Authenticator with real keys signed like clients sign: nonces, signatures and bound tokens."""

from __future__ import annotations

import threading

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import sign_request
from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.auth.signature import Command
from provider.auth.tokens import TokenService
from provider.errors import Unauthorized


def _signed(
    authenticator: Authenticator,
    account: LocalAccount,
    nonce: int | str,
    command: str = Command.FREE_START_COMPUTE,
    *,
    address: str | None = None,
    signer: LocalAccount | None = None,
) -> str:
    return authenticator.authenticate(
        consumer_address=address or account.address,
        command=command,
        nonce=nonce,
        signature=sign_request(signer or account, nonce, command),
        token=None,
    )


def test_good_signature_is_accepted_and_consumes_the_nonce(
    authenticator: Authenticator, nonces: NonceStore, account: LocalAccount
) -> None:
    assert _signed(authenticator, account, "1") == account.address
    assert nonces.current(account.address) == 1
    assert _signed(authenticator, account, 2, Command.STOP_COMPUTE) == account.address
    assert nonces.current(account.address.lower()) == 2


def test_replayed_nonce_is_unauthorized(
    authenticator: Authenticator, account: LocalAccount
) -> None:
    signature = sign_request(account, 1, Command.FREE_START_COMPUTE)

    def send() -> str:
        return authenticator.authenticate(
            consumer_address=account.address,
            command=Command.FREE_START_COMPUTE,
            nonce="1",
            signature=signature,
            token=None,
        )

    send()
    with pytest.raises(Unauthorized) as caught:
        send()
    assert "nonce" in caught.value.message


def test_lower_nonce_is_unauthorized(authenticator: Authenticator, account: LocalAccount) -> None:
    _signed(authenticator, account, 5)
    with pytest.raises(Unauthorized) as caught:
        _signed(authenticator, account, 4)
    assert "not greater than the last used nonce 5" in caught.value.message


def test_signature_by_another_key_does_not_burn_the_nonce(
    authenticator: Authenticator, nonces: NonceStore, account: LocalAccount
) -> None:
    attacker: LocalAccount = Account.create()
    with pytest.raises(Unauthorized) as caught:
        _signed(authenticator, account, 1, signer=attacker)
    assert caught.value.message == "signature does not match consumerAddress"
    assert nonces.current(account.address) == 0
    assert _signed(authenticator, account, 1) == account.address


def test_signature_for_another_command_is_unauthorized(
    authenticator: Authenticator, account: LocalAccount
) -> None:
    with pytest.raises(Unauthorized):
        authenticator.authenticate(
            consumer_address=account.address,
            command=Command.STOP_COMPUTE,
            nonce=1,
            signature=sign_request(account, 1, Command.GET_COMPUTE_RESULT),
            token=None,
        )


def test_lowercase_address_must_be_signed_as_sent(
    authenticator: Authenticator, account: LocalAccount
) -> None:
    # The message holds the address as the client sent it; the signer compares case-insensitively.
    lower = account.address.lower()
    signature = sign_request(account, 1, Command.STOP_COMPUTE)  # signs the checksummed form
    with pytest.raises(Unauthorized):
        authenticator.authenticate(
            consumer_address=lower,
            command=Command.STOP_COMPUTE,
            nonce=1,
            signature=signature,
            token=None,
        )


@pytest.mark.parametrize("signature", ["0x1234", "0x" + "zz" * 65, "0x" + "00" * 64 + "1b"])
def test_malformed_signature_is_unauthorized(
    authenticator: Authenticator, nonces: NonceStore, account: LocalAccount, signature: str
) -> None:
    with pytest.raises(Unauthorized):
        authenticator.authenticate(
            consumer_address=account.address,
            command=Command.STOP_COMPUTE,
            nonce=1,
            signature=signature,
            token=None,
        )
    assert nonces.current(account.address) == 0


@pytest.mark.parametrize(
    ("nonce", "signature", "words"),
    [
        (None, None, "missing signature and nonce"),
        ("1", None, "missing signature"),
        (None, "0x00", "missing nonce"),
        ("", "0x00", "missing nonce"),
    ],
)
def test_missing_credentials_are_named(
    authenticator: Authenticator, nonce: str | None, signature: str | None, words: str
) -> None:
    with pytest.raises(Unauthorized) as caught:
        authenticator.authenticate(
            consumer_address="0x" + "ab" * 20,
            command=Command.STOP_COMPUTE,
            nonce=nonce,
            signature=signature,
            token=None,
        )
    assert words in caught.value.message


@pytest.mark.parametrize("nonce", ["abc", "-1", "1.5", " 1", "1_000", "9" * 30, -1, 2**63])
def test_garbage_nonce_is_unauthorized(
    authenticator: Authenticator, account: LocalAccount, nonce: str | int
) -> None:
    with pytest.raises(Unauthorized) as caught:
        _signed(authenticator, account, nonce)
    assert "nonce" in caught.value.message


def test_token_replaces_the_signature(
    authenticator: Authenticator, tokens: TokenService, account: LocalAccount
) -> None:
    token = tokens.issue(account.address)
    for _ in range(2):
        assert (
            authenticator.authenticate(
                consumer_address=account.address.lower(),
                command=Command.STOP_COMPUTE,
                nonce=None,
                signature=None,
                token=token,
            )
            == account.address.lower()
        )
    assert authenticator.authenticate_token(consumer_address=account.address, token=token)


def test_token_for_another_address_is_unauthorized(
    authenticator: Authenticator, tokens: TokenService, account: LocalAccount
) -> None:
    other: LocalAccount = Account.create()
    token = tokens.issue(other.address)
    with pytest.raises(Unauthorized) as caught:
        authenticator.authenticate(
            consumer_address=account.address,
            command=Command.STOP_COMPUTE,
            nonce=None,
            signature=None,
            token=token,
        )
    assert caught.value.message == "token was issued for another address"
    with pytest.raises(Unauthorized):
        authenticator.authenticate_token(consumer_address=account.address, token=token)


def test_invalidated_token_is_refused(
    authenticator: Authenticator, tokens: TokenService, account: LocalAccount
) -> None:
    token = tokens.issue(account.address)
    tokens.invalidate(token, owner=account.address)
    with pytest.raises(Unauthorized):
        authenticator.authenticate_token(consumer_address=account.address, token=token)


def test_concurrent_requests_with_one_signed_nonce_exactly_one_passes(
    authenticator: Authenticator, account: LocalAccount
) -> None:
    count = 16
    barrier = threading.Barrier(count)
    signature = sign_request(account, 1, Command.FREE_START_COMPUTE)
    passed: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            authenticator.authenticate(
                consumer_address=account.address,
                command=Command.FREE_START_COMPUTE,
                nonce=1,
                signature=signature,
                token=None,
            )
            ok = True
        except Unauthorized:
            ok = False
        with lock:
            passed.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert passed.count(True) == 1 and len(passed) == count


def test_a_route_may_accept_several_commands(
    authenticator: Authenticator, account: LocalAccount
) -> None:
    # invalidateAuthToken: with its command, or address + nonce alone as ocean.js signs it.
    accepted = (Command.INVALIDATE_AUTH_TOKEN, "")
    for nonce, command in ((1, Command.INVALIDATE_AUTH_TOKEN), (2, "")):
        assert (
            authenticator.authenticate(
                consumer_address=account.address,
                command=accepted,
                nonce=nonce,
                signature=sign_request(account, nonce, command),
                token=None,
            )
            == account.address
        )
    with pytest.raises(Unauthorized) as caught:
        authenticator.authenticate(
            consumer_address=account.address,
            command=accepted,
            nonce=4,
            signature=sign_request(account, 4, Command.STOP_COMPUTE),
            token=None,
        )
    assert caught.value.message == "signature does not match consumerAddress"


def test_only_proven_fresh_requests_are_charged_to_the_address(
    nonces: NonceStore, tokens: TokenService, account: LocalAccount
) -> None:
    charged: list[str] = []
    authenticator = Authenticator(nonces, tokens, charge=charged.append)
    stranger = Account.create()
    with pytest.raises(Unauthorized):
        _signed(authenticator, account, "1", signer=stranger)
    with pytest.raises(Unauthorized):
        authenticator.authenticate_token(
            consumer_address=account.address, token=tokens.issue(stranger.address)
        )
    assert charged == [], "naming an address without its key charges nothing"
    _signed(authenticator, account, "1")
    with pytest.raises(Unauthorized):
        _signed(authenticator, account, "1")  # a replay is refused before the charge
    authenticator.authenticate_token(
        consumer_address=account.address, token=tokens.issue(account.address)
    )
    assert charged == [account.address, account.address]
