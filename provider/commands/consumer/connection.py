"""What the consumer commands share: the provider's address, the consumer's key, one-line errors.

The key comes from a file or an environment variable, never from a flag (a flag shows in ``ps``
and in the shell's history).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from provider.errors import C2DError, UsageError

if TYPE_CHECKING:
    from eth_account.datastructures import SignedMessage
    from eth_account.messages import SignableMessage
    from eth_account.signers.local import LocalAccount

    from provider.commands.consumer.client import C2DClient
    from provider.commands.consumer.reads import StatusReader

__all__ = [
    "DEFAULT_URL",
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_URL",
    "ConsumerKey",
    "RemoteError",
    "add_connection_arguments",
    "load_key",
    "open_client",
    "open_reader",
    "remote_errors",
]

ENV_URL = "C2D_PROVIDER_URL"
ENV_KEY = "C2D_CONSUMER_KEY"
ENV_KEY_FILE = "C2D_CONSUMER_KEY_FILE"
DEFAULT_URL = "http://127.0.0.1:8000"


class RemoteError(C2DError):
    """The provider refused a request, or could not be reached."""


def add_connection_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--provider`` and ``--key-file``; without ``required`` the provider has no default (the
    operator's ``logs`` and ``results`` read C2D_HOME unless one is given)."""
    default = os.environ.get(ENV_URL, DEFAULT_URL) if required else os.environ.get(ENV_URL)
    parser.add_argument(
        "--provider",
        metavar="URL",
        default=default,
        help=f"the provider's base URL (${ENV_URL} sets the default)"
        + ("" if required else "; given: ask it over the REST API instead of reading C2D_HOME"),
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        default=os.environ.get(ENV_KEY_FILE) or None,
        help=f"file holding the consumer's private key (hex); else ${ENV_KEY} holds the key "
        f"itself (${ENV_KEY_FILE} sets the default)",
    )


class ConsumerKey:
    """The consumer's key: its address is derived without eth_account (coincurve and keccak load
    in milliseconds); eth_account is loaded only when a request must be signed."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @cached_property
    def address(self) -> str:
        from coincurve import PrivateKey
        from eth_hash.auto import keccak

        public = PrivateKey(self._secret).public_key.format(compressed=False)[1:]
        plain = keccak(public)[-20:].hex()
        # EIP-55: a letter is upper case where the hash of the lower-case address has a high
        # nibble (the hash is longer than the address: its first 40 digits count).
        hashed = keccak(plain.encode()).hex()
        digits = zip(plain, hashed[:40], strict=True)
        return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in digits)

    @cached_property
    def _account(self) -> LocalAccount:
        from eth_account import Account

        account: LocalAccount = Account.from_key(self._secret)
        return account

    def local_account(self) -> LocalAccount:
        """The eth_account account, to sign transactions (a paid job's orders and escrow)."""
        return self._account

    def sign_message(self, signable_message: SignableMessage) -> SignedMessage:
        return self._account.sign_message(signable_message)


def load_key(key_file: Path | None) -> ConsumerKey:
    if key_file is not None:
        try:
            text = key_file.read_text().strip()
        except OSError as error:
            raise UsageError(f"--key-file {key_file}: {error.strerror}") from None
        source = f"--key-file {key_file}"
    elif os.environ.get(ENV_KEY):
        text, source = os.environ[ENV_KEY].strip(), ENV_KEY
    else:
        raise UsageError(
            f"no consumer key: give --key-file FILE (or ${ENV_KEY_FILE}) or set ${ENV_KEY}"
        )
    hex_text = text.removeprefix("0x")
    try:
        secret = bytes.fromhex(hex_text)
    except ValueError:
        secret = b""
    if len(secret) != 32 or not any(secret):
        # Never echo the value: it is (supposed to be) a private key.
        raise UsageError(f"{source} does not hold a private key (64 hex digits)")
    return ConsumerKey(secret)


def open_client(args: argparse.Namespace, *, timeout: float = 30.0) -> C2DClient:
    from provider.commands.consumer.client import C2DClient

    if not args.provider:
        raise UsageError(f"no provider: give --provider URL or set ${ENV_URL}")
    return C2DClient(args.provider, load_key(args.key_file), timeout=timeout)


@contextlib.contextmanager
def open_reader(args: argparse.Namespace) -> Iterator[StatusReader]:
    """For the unsigned reads (``list``, ``get``): no httpx, no eth_account."""
    from provider.commands.consumer.reads import StatusReader

    if not args.provider:
        raise UsageError(f"no provider: give --provider URL or set ${ENV_URL}")
    reader = StatusReader(args.provider, load_key(args.key_file).address)
    try:
        yield reader
    finally:
        reader.close()


@contextlib.contextmanager
def remote_errors(url: str) -> Iterator[None]:
    """The provider's refusals and connection failures as one line each."""
    import http.client

    from provider.commands.consumer.client import ProviderError

    try:
        yield
    except ProviderError as error:
        if error.status_code < 400:
            # Like Ocean Node, a provider answers 200 [] for a job this address may not see.
            raise RemoteError(f"{url}: {error.message}") from None
        raise RemoteError(f"{url} refused: {error}") from None
    except (OSError, http.client.HTTPException) as error:
        raise RemoteError(f"cannot reach the provider at {url}: {error}") from None
    except Exception as error:
        # httpx is loaded only by the commands that sign (C2DClient); not imported here for it.
        httpx = sys.modules.get("httpx")
        if httpx is not None and isinstance(error, httpx.TransportError):
            raise RemoteError(f"cannot reach the provider at {url}: {error}") from None
        raise
