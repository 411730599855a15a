"""provider.sqlite (nonces, revoked tokens) and payments.sqlite carry a schema version: a file
from before versioning is migrated in place and keeps its rows; a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from provider.errors import Unauthorized
from provider.indexer.store import IndexStore
from provider.payments.store import Settlement, SettlementState, SettlementStore
from tests.provider.auth.support import LIFETIME, SECRET, Clock
from tests.sqlite_files import old_file, set_version, version
from workflows.sqlite_schema import SchemaVersionError

ADDRESS = "0x" + "ab" * 20

# The tables as c2d 0.1.0 created them, before the files carried a schema version: a frozen
# copy on purpose (later migrations change the code's tables, never these).
_UNVERSIONED_PROVIDER = """
CREATE TABLE nonces (address TEXT PRIMARY KEY, nonce INTEGER NOT NULL);
CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
"""
_UNVERSIONED_PAYMENTS = """CREATE TABLE settlements (
    job_id TEXT PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    payer TEXT NOT NULL,
    escrow_job_id TEXT NOT NULL,
    per_minute TEXT NOT NULL,
    locked TEXT NOT NULL,
    state TEXT NOT NULL,
    claimed TEXT NOT NULL DEFAULT '0',
    lock_tx TEXT NOT NULL DEFAULT '',
    settle_tx TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
)"""


def _tokens(path: Path) -> TokenService:
    return TokenService(SECRET, path, lifetime=LIFETIME, clock=Clock())


def test_unversioned_provider_state_keeps_nonces_and_revocations(tmp_path: Path) -> None:
    token = _tokens(tmp_path / "other.sqlite").issue(ADDRESS)
    claims = jwt.decode(token, options={"verify_signature": False})
    path = tmp_path / "provider.sqlite"
    old_file(
        path,
        _UNVERSIONED_PROVIDER,
        ("INSERT INTO nonces VALUES (?, ?)", (ADDRESS, 41)),
        ("INSERT INTO revoked_tokens VALUES (?, ?)", (claims["jti"], claims["exp"])),
    )
    assert version(path) == 0

    nonces = NonceStore(path)
    tokens = _tokens(path)
    assert version(path) == 1
    assert nonces.current(ADDRESS) == 41
    with pytest.raises(Unauthorized, match="not greater than the last used nonce 41"):
        nonces.consume(ADDRESS, 41)
    nonces.consume(ADDRESS, 42)
    with pytest.raises(Unauthorized, match="invalidated"):
        tokens.verify(token)


def test_unversioned_payments_keep_their_settlements(tmp_path: Path) -> None:
    path = tmp_path / "payments.sqlite"
    old_file(
        path,
        _UNVERSIONED_PAYMENTS,
        (
            "INSERT INTO settlements (job_id, chain_id, token, payer, escrow_job_id, per_minute,"
            " locked, state, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            ("j1", 8996, "0xtoken", ADDRESS, "7", "10", "600", "locked", 1_700_000_000),
        ),
    )
    store = SettlementStore(path)
    assert version(path) == 1
    assert store.get("j1") == Settlement(
        job_id="j1",
        chain_id=8996,
        token="0xtoken",
        payer=ADDRESS,
        escrow_job_id=7,
        per_minute=10,
        locked=600,
        state=SettlementState.LOCKED,
        updated_at=1_700_000_000,
    )
    assert [s.job_id for s in store.unsettled()] == ["j1"]


@pytest.mark.parametrize(
    ("name", "open_store"),
    [
        ("provider.sqlite", NonceStore),
        ("provider.sqlite", _tokens),
        ("payments.sqlite", SettlementStore),
        ("index.sqlite", IndexStore),
    ],
)
def test_a_file_from_a_newer_c2d_is_refused(tmp_path: Path, name: str, open_store: object) -> None:
    path = tmp_path / name
    assert callable(open_store)
    open_store(path)
    set_version(path, 5)
    with pytest.raises(SchemaVersionError, match=r"has schema version 5, but this c2d knows"):
        open_store(path)
    assert version(path) == 5
