"""The provider's key: from settings, or generated once into C2D_HOME/provider.key (mode 0600)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from provider.errors import ConfigError

__all__ = ["auth_token_secret", "derived_secret", "load_provider_account"]


def load_provider_account(configured: str | None, key_file: Path) -> LocalAccount:
    if configured:
        return _account_from_hex(configured, source="C2D_PROVIDER_PRIVATE_KEY")
    if key_file.exists():
        return _account_from_hex(key_file.read_text().strip(), source=str(key_file))
    key_file.parent.mkdir(parents=True, exist_ok=True)
    account: LocalAccount = Account.create()
    # O_EXCL: two providers starting at once never overwrite each other's key.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(account.key.hex())
    return account


def derived_secret(account: LocalAccount, purpose: str) -> bytes:
    """A secret for one ``purpose``, derived from the provider key: no second secret file
    exists, and the code that uses it never holds the key itself."""
    return hmac.new(bytes(account.key), purpose.encode(), hashlib.sha256).digest()


def auth_token_secret(account: LocalAccount) -> bytes:
    """The JWT signing secret."""
    return derived_secret(account, "c2d auth tokens")


def _account_from_hex(text: str, *, source: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(text)
    except (ValueError, TypeError) as error:
        # Never echo the value: it is (supposed to be) a private key.
        raise ConfigError(f"{source} does not hold a valid private key") from error
    return account
