"""The `chains:` block of the config file: validated, each error naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.chains.served import served_chains
from provider.environments import load_config
from provider.errors import ConfigError

SEPOLIA_OCEAN = "0x1B083D8584dd3e6Ff37d04a6e7e82b5F622f3985"


def _environment(fees: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "paid-sepolia",
        "resources": [
            {"id": "cpu", "total": 2, "max": 2},
            {"id": "ram", "total": 2, "max": 2},
            {"id": "disk", "total": 2, "max": 2},
        ],
        "runtimes": [{"images": ["python:3.11"]}],
        "fees": fees,
    }


def _write(tmp_path: Path, chains: list[dict[str, Any]], fees: dict[str, Any]) -> Path:
    path = tmp_path / "c2d.yaml"
    path.write_text(yaml.safe_dump({"chains": chains, "environments": [_environment(fees)]}))
    return path


def _fees(chain: int) -> dict[str, Any]:
    return {str(chain): [{"feeToken": SEPOLIA_OCEAN, "prices": [{"id": "cpu", "price": 1}]}]}


def test_a_known_network_name_resolves_offline(tmp_path: Path) -> None:
    chain = {
        "chainId": 11155111,
        "rpc": ["https://a.example", "https://b.example"],
        "addresses": "sepolia",
        "confirmations": 3,
    }
    config = load_config(_write(tmp_path, [chain], _fees(11155111)))
    (served,) = served_chains(config.chains, tmp_path)
    assert served.chain_id == 11155111
    assert served.rpcs == ("https://a.example", "https://b.example")
    assert served.confirmations == 3 and not served.dev
    assert served.addresses.address("Ocean") == SEPOLIA_OCEAN
    assert served.addresses.address("Escrow").startswith("0x")
    # startBlock defaults to the deployment's
    assert served.start_block == served.addresses.start_block > 0


def test_several_chains_and_a_file_in_the_same_shape(tmp_path: Path) -> None:
    book = tmp_path / "mine.json"
    entry = {
        "chainId": 31337,
        "startBlock": 5,
        "Ocean": "0x" + "11" * 20,
        "ERC721Factory": "0x" + "22" * 20,
        "Escrow": "0x" + "33" * 20,
    }
    book.write_text(json.dumps({"local": entry}))
    chains = [
        {"chainId": 11155111, "rpc": "https://a.example", "addresses": "sepolia"},
        {"chainId": 31337, "rpc": ["http://127.0.0.1:1"], "addresses": str(book), "startBlock": 9},
    ]
    fees = {**_fees(11155111), **_fees(31337)}
    config = load_config(_write(tmp_path, chains, fees))
    served = served_chains(config.chains, tmp_path)
    assert [c.chain_id for c in served] == [11155111, 31337]
    assert served[1].addresses.address("Escrow") == "0x" + "33" * 20
    assert served[1].start_block == 9


@pytest.mark.parametrize(
    ("chain", "fees_on", "message"),
    [
        (
            {"chainId": 11155111, "rpc": ["ftp://x"], "addresses": "sepolia"},
            11155111,
            "chains.0.rpc: Value error, 'ftp://x' is no http(s) URL",
        ),
        (
            {"chainId": 0, "rpc": ["https://x"], "addresses": "sepolia"},
            11155111,
            "chains.0.chainId",
        ),
        ({"chainId": 11155111, "rpc": [], "addresses": "sepolia"}, 11155111, "chains.0.rpc"),
        (
            {"chainId": 11155111, "rpc": ["https://x"], "addresses": "sepolia", "confirmations": 0},
            11155111,
            "chains.0.confirmations",
        ),
        (
            {"chainId": 11155111, "rpc": ["https://x"], "addresses": "sepolia", "rcp": 1},
            11155111,
            "chains.0.rcp: Extra inputs are not permitted",
        ),
        (
            {"chainId": 11155111, "rpc": ["https://x"], "addresses": "sepolia"},
            1,
            "environment paid-sepolia: fees on chain '1', which is not among chains",
        ),
    ],
)
def test_bad_chain_fields_are_named(
    tmp_path: Path, chain: dict[str, Any], fees_on: int, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, [chain], _fees(fees_on)))
    assert message in str(error.value)


def test_a_chain_given_twice_is_refused(tmp_path: Path) -> None:
    chain = {"chainId": 11155111, "rpc": ["https://x"], "addresses": "sepolia"}
    with pytest.raises(ConfigError, match="chainId 11155111 given twice"):
        load_config(_write(tmp_path, [chain, chain], _fees(11155111)))


@pytest.mark.parametrize(
    ("addresses", "chain_id", "message"),
    [
        ("nowhere", 11155111, "chains.0.addresses: 'nowhere' is neither a network of Ocean's"),
        (
            "sepolia",
            10,
            "chains.0.addresses: 'sepolia' has no deployment on chain 10 (it has chains 11155111)",
        ),
        ("mumbai", 80001, "network 'mumbai' of 'mumbai' has no Escrow contract"),
    ],
)
def test_addresses_must_name_a_usable_deployment(
    tmp_path: Path, addresses: str, chain_id: int, message: str
) -> None:
    chain = {"chainId": chain_id, "rpc": ["https://x"], "addresses": addresses}
    config = load_config(_write(tmp_path, [chain], _fees(chain_id)))
    with pytest.raises(ConfigError) as error:
        served_chains(config.chains, tmp_path)
    assert message in str(error.value)
