"""C2D_DATABASE_URL: a bad value or an unreachable server is a config error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.errors import ConfigError
from provider.settings import load_settings
from provider.statedb.open import open_state
from provider.statedb.sqlite import SqliteDatabase
from tests.storage_servers import free_port


def test_a_url_that_is_not_postgresql_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2D_DATABASE_URL", "mysql://db/c2d")
    with pytest.raises(ConfigError, match=r"C2D_DATABASE_URL: .*postgresql://"):
        load_settings()


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://c2d:hunter2@127.0.0.1:{free_port()}/state"
    with pytest.raises(ConfigError) as raised:
        open_state(tmp_path, url)
    message = str(raised.value)
    assert message.startswith(
        f"C2D_DATABASE_URL: cannot reach postgresql://c2d@127.0.0.1:{url.split(':')[3]}"
    )
    assert "hunter2" not in message


def test_without_a_url_the_state_is_sqlite_files(tmp_path: Path) -> None:
    state = open_state(tmp_path, None)
    assert isinstance(state.auth, SqliteDatabase) and isinstance(state.payments, SqliteDatabase)
    assert (state.auth.path.name, state.payments.path.name) == (
        "provider.sqlite",
        "payments.sqlite",
    )
    assert state.leader.is_leader() and state.orphan_grace == 0
