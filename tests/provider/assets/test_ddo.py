"""DDO models: the demo's shapes parse, derived identifiers and checksums follow Ocean."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from devkit.demo import assets as demo
from provider.assets.ddo import (
    Container,
    Ddo,
    Service,
    container_section_checksum,
    did_for,
    did_hex,
    service_by_id,
)
from provider.errors import BadRequest, NotFound

from .conftest import CODE_CHECKSUM, PUBLISHER


def test_algorithm_ddo_parses(algorithm: Ddo) -> None:
    assert algorithm.metadata.type == "algorithm"
    assert algorithm.chain_id == 8996
    assert algorithm.publisher == PUBLISHER
    assert algorithm.nft_state == 0
    assert algorithm.metadata.algorithm is not None
    assert algorithm.metadata.algorithm.container == Container(**demo.CONTAINER)
    service = algorithm.services[0]
    assert service.type == "compute"
    assert service.compute is None
    assert service.plain_files() == [
        {"type": "url", "url": "http://127.0.0.1:1/stats.py", "method": "GET"}
    ]


def test_dataset_ddo_parses(dataset: Ddo, algorithm: Ddo) -> None:
    policy = dataset.services[0].compute
    assert policy is not None
    assert policy.allow_raw_algorithm is False
    assert policy.allow_network_access is False
    assert policy.publisher_trusted_algorithm_publishers == []
    [trusted] = policy.publisher_trusted_algorithms
    assert trusted.did == algorithm.id
    assert trusted.files_checksum == CODE_CHECKSUM
    assert trusted.container_section_checksum == container_section_checksum(
        Container(**demo.CONTAINER)
    )


def test_unknown_fields_survive_a_round_trip(dataset_json: dict[str, Any]) -> None:
    dataset_json["event"] = {"tx": "0x1"}
    dataset_json["services"][0]["additionalInformation"] = {"x": 1}
    dumped = Ddo.model_validate(dataset_json).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    assert dumped["event"] == {"tx": "0x1"}
    assert dumped["@context"] == ["https://w3id.org/did/v1"]
    assert dumped["services"][0]["additionalInformation"] == {"x": 1}
    assert (
        dumped["services"][0]["datatokenAddress"] == dataset_json["services"][0]["datatokenAddress"]
    )
    assert dumped["chainId"] == 8996


def test_models_accept_snake_case_names() -> None:
    container = Container(entrypoint="python3 $ALGO", image="python", tag="3.11")
    assert container.checksum == ""
    service = Service(id="s", type="compute", files="0xdeadbeef", datatoken_address="0x1")
    assert service.datatoken_address == "0x1"


def test_encrypted_files_are_not_plain() -> None:
    service = Service.model_validate({"id": "s", "type": "access", "files": "0x04abcdef"})
    assert service.plain_files() is None


def test_publisher_is_none_without_nft(dataset_json: dict[str, Any]) -> None:
    del dataset_json["nft"]
    ddo = Ddo.model_validate(dataset_json)
    assert ddo.publisher is None
    assert ddo.nft_state == 0


@pytest.mark.parametrize(("state", "expected"), [(3, 3), ("5", 5), (True, -1), ("x", -1)])
def test_nft_state_reads_ints_only(dataset_json: dict[str, Any], state: Any, expected: int) -> None:
    dataset_json["nft"]["state"] = state
    assert Ddo.model_validate(dataset_json).nft_state == expected


def test_did_for_follows_ocean_js_generate_did() -> None:
    # ocean.js: sha256(toChecksumAddress(nftAddress) + chainId.toString(10)). The checksummed
    # spelling below is an EIP-55 test vector, so this does not reuse the code under test.
    expected = hashlib.sha256(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed8996").hexdigest()
    assert did_for("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 8996) == f"did:op:{expected}"
    assert did_for("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", 8996) == f"did:op:{expected}"


def test_did_for_refuses_a_non_address() -> None:
    with pytest.raises(BadRequest):
        did_for("0x1234", 1)


def test_did_hex() -> None:
    assert did_hex("did:op:" + "AB" * 32) == "ab" * 32


@pytest.mark.parametrize(
    "did", ["", "did:op:", "did:op:" + "ab" * 31, "did:op:" + "zz" * 32, "did:xx:" + "ab" * 32]
)
def test_did_hex_refuses_malformed(did: str) -> None:
    with pytest.raises(BadRequest, match="malformed DID"):
        did_hex(did)


def test_container_section_checksum_is_sha256_of_entrypoint_and_checksum() -> None:
    container = Container(entrypoint="node $ALGO", image="node", tag="20", checksum="sha256:ff")
    expected = hashlib.sha256(b"node $ALGOsha256:ff").hexdigest()
    assert container_section_checksum(container) == expected


def test_service_by_id(dataset: Ddo) -> None:
    assert service_by_id(dataset, "compute") is dataset.services[0]
    with pytest.raises(NotFound, match=f"asset {dataset.id} has no service nope"):
        service_by_id(dataset, "nope")


def test_id_must_be_an_ocean_did(dataset_json: dict[str, Any]) -> None:
    dataset_json["id"] = "did:op:123"
    with pytest.raises(ValueError, match="id"):
        Ddo.model_validate(dataset_json)
