"""Real SQLite stores in tmp_path, a settable clock, and real eth_account keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from tests.provider.auth.support import LIFETIME, SECRET, Clock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "provider.sqlite"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def nonces(db_path: Path) -> NonceStore:
    return NonceStore(db_path)


@pytest.fixture
def tokens(db_path: Path, clock: Clock) -> TokenService:
    return TokenService(SECRET, db_path, lifetime=LIFETIME, clock=clock)


@pytest.fixture
def authenticator(nonces: NonceStore, tokens: TokenService) -> Authenticator:
    return Authenticator(nonces, tokens)


@pytest.fixture
def account() -> LocalAccount:
    created: LocalAccount = Account.create()
    return created
