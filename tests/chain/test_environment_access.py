"""Environment ``access`` enforced on chain: listed addresses, and holders of an Ocean
AccessList (ERC-721) token on the dev chain, may start or initialize jobs; others get Ocean
Node's 403 ``Access denied``. A token minted later lets its holder in at once (read live)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient, ProviderError
from devkit.launch import ServerProcess, start_server
from provider.chain.client import ChainClient
from provider.chain.files import ChainFiles, DevChain
from tests.chain.access_list import AccessList
from tests.chain.market import Market

_RUNTIME = {
    "images": ["python:3.11"],
    "binds": ["/usr"],
    "commands": {"python": "/usr/bin/python3"},
}
_ALGORITHM = {
    "meta": {
        "rawcode": "print('in')\n",
        "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"},
    }
}


def _environment(env_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": env_id,
        "resources": [
            {"id": "cpu", "total": 1, "max": 1},
            {"id": "ram", "total": 1, "max": 1},
            {"id": "disk", "total": 1, "max": 1, "min": 0},
        ],
        "runtimes": [_RUNTIME],
        **extra,
    }


@pytest.fixture(scope="module")
def access_list(dev_chain: DevChain) -> AccessList:
    owner = Account.from_key(dev_chain.accounts[2].private_key)
    return AccessList(ChainClient(dev_chain.rpc), owner)


@pytest.fixture(scope="module")
def member() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


@pytest.fixture(scope="module")
def holder(access_list: AccessList) -> LocalAccount:
    account: LocalAccount = Account.create()
    access_list.mint(account.address)
    return account


@pytest.fixture(scope="module")
def gated_server(
    dev_chain: DevChain,
    chain_home: Path,
    access_list: AccessList,
    member: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("gated-home")
    chain = str(dev_chain.chain_id)
    lists = [{chain: [access_list.address]}]
    prices = [{"id": "cpu", "price": 1}]
    config = {
        "chains": [
            {
                "chainId": dev_chain.chain_id,
                "rpc": dev_chain.rpc,
                "addresses": str(ChainFiles.under(chain_home).addresses),
            }
        ],
        "environments": [
            # Listed in lower case: addresses compare case-insensitively.
            _environment("listed", free={"access": {"addresses": [member.address.lower()]}}),
            _environment("holders", free={}, access={"addresses": [], "accessLists": lists}),
            _environment(
                "paid-holders",
                access={"addresses": [], "accessLists": lists},
                fees={chain: [{"feeToken": dev_chain.ocean, "prices": prices}]},
            ),
        ],
    }
    path = home / "c2d.yaml"
    path.write_text(yaml.safe_dump(config))
    server = start_server(home, env={"C2D_CONFIG": str(path)})
    yield server
    server.stop()


def _start(server: ServerProcess, account: LocalAccount, environment: str) -> dict[str, Any]:
    with C2DClient(server.url, account) as client:
        job = client.free_compute({"environment": environment, "algorithm": _ALGORITHM})
        client.stop(job["jobId"])
        return job


def _refused(server: ServerProcess, account: LocalAccount, environment: str) -> ProviderError:
    with pytest.raises(ProviderError) as refused:
        _start(server, account, environment)
    return refused.value


def test_environments_list_their_access(
    gated_server: ServerProcess, access_list: AccessList, member: LocalAccount
) -> None:
    envs = {
        e["id"]: e for e in httpx.get(gated_server.url + "/api/services/computeEnvironments").json()
    }
    assert envs["listed"]["free"]["access"] == {
        "addresses": [member.address.lower()],
        "accessLists": None,
    }
    assert envs["listed"]["access"] == {"addresses": [], "accessLists": None}
    chain_lists = envs["holders"]["access"]["accessLists"]
    assert chain_lists == envs["holders"]["free"]["access"]["accessLists"]
    assert list(chain_lists[0].values()) == [[access_list.address]]


def test_only_listed_addresses_start_jobs(
    gated_server: ServerProcess, member: LocalAccount
) -> None:
    assert _start(gated_server, member, "listed")["environment"] == "listed"
    refused = _refused(gated_server, Account.create(), "listed")
    assert refused.status_code == 403
    assert refused.message.startswith("Access denied: ")


def test_access_list_holders_start_jobs_and_a_new_token_counts_at_once(
    gated_server: ServerProcess, access_list: AccessList, holder: LocalAccount
) -> None:
    assert _start(gated_server, holder, "holders")["environment"] == "holders"
    newcomer: LocalAccount = Account.create()
    refused = _refused(gated_server, newcomer, "holders")
    assert refused.status_code == 403 and "Access denied" in refused.message
    access_list.mint(newcomer.address)
    assert _start(gated_server, newcomer, "holders")["environment"] == "holders"


def test_initialize_compute_is_refused_to_non_holders(
    gated_server: ServerProcess, holder: LocalAccount, market: Market
) -> None:
    body = {
        "environment": "paid-holders",
        "algorithm": _ALGORITHM,
        "datasets": [],
        "payment": {"chainId": market.chain.chain_id},
    }
    url = gated_server.url + "/api/services/initializeCompute"
    stranger = httpx.post(url, json={**body, "consumerAddress": Account.create().address})
    assert stranger.status_code == 403, stranger.text
    assert stranger.json()["error"].startswith("Access denied: ")
    allowed = httpx.post(url, json={**body, "consumerAddress": holder.address})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["payment"]["chainId"] == market.chain.chain_id
