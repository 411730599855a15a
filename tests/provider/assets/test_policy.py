"""The permission policy, one test per rule (docs/design.md#policy: private by default)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from provider.assets.ddo import Ddo, Service
from provider.assets.policy import (
    AlgorithmFacts,
    authorize_algorithm,
    network_allowed,
    split_files_checksum,
)
from provider.errors import Forbidden

from .conftest import CODE_CHECKSUM, PUBLISHER, with_compute

CONTAINER_SUM = "c" * 64
RAW = AlgorithmFacts(raw=True, did=None, publisher=None, container_checksum=None, service_type=None)


@pytest.fixture
def facts(algorithm: Ddo) -> AlgorithmFacts:
    return AlgorithmFacts(
        raw=False,
        did=algorithm.id,
        publisher=PUBLISHER,
        container_checksum=CONTAINER_SUM,
        service_type="compute",
    )


def trusting(dataset_json: dict[str, Any], did: str, files: str = "", container: str = "") -> Ddo:
    entry = {"did": did, "filesChecksum": files, "containerSectionChecksum": container}
    return with_compute(dataset_json, publisherTrustedAlgorithms=[entry])


def authorize(ddo: Ddo, facts: AlgorithmFacts) -> str | None:
    grant = authorize_algorithm(ddo, ddo.services[0], facts, label="datasets[0]")
    return grant.expected_files_checksum


# --- which service --------------------------------------------------------------------------


def test_access_service_runs_nothing(dataset_json: dict[str, Any], facts: AlgorithmFacts) -> None:
    dataset_json["services"][0]["type"] = "access"
    ddo = Ddo.model_validate(dataset_json)
    with pytest.raises(
        Forbidden, match="datasets\\[0\\]: service compute is not a compute service"
    ):
        authorize(ddo, facts)


def test_missing_policy_allows_nothing(dataset_json: dict[str, Any], facts: AlgorithmFacts) -> None:
    del dataset_json["services"][0]["compute"]
    ddo = Ddo.model_validate(dataset_json)
    with pytest.raises(Forbidden, match="algorithm not trusted"):
        authorize(ddo, facts)
    with pytest.raises(Forbidden, match="raw algorithms are not allowed"):
        authorize(ddo, RAW)


def test_policy_listing_nothing_allows_nothing(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    # Stricter than the reference provider, where two empty lists mean "any algorithm".
    ddo = with_compute(
        dataset_json, publisherTrustedAlgorithms=[], publisherTrustedAlgorithmPublishers=[]
    )
    with pytest.raises(Forbidden, match="datasets\\[0\\]: algorithm not trusted"):
        authorize(ddo, facts)


# --- raw algorithms -------------------------------------------------------------------------


def test_raw_algorithm_refused_by_default(dataset: Ddo) -> None:
    with pytest.raises(Forbidden, match="datasets\\[0\\]: raw algorithms are not allowed"):
        authorize(dataset, RAW)


def test_raw_algorithm_allowed_when_policy_says_so(dataset_json: dict[str, Any]) -> None:
    assert authorize(with_compute(dataset_json, allowRawAlgorithm=True), RAW) is None


def test_raw_algorithm_is_not_trusted_by_wildcards(dataset_json: dict[str, Any]) -> None:
    ddo = with_compute(
        dataset_json,
        publisherTrustedAlgorithms=[{"did": "*"}],
        publisherTrustedAlgorithmPublishers=["*"],
    )
    with pytest.raises(Forbidden, match="raw algorithms are not allowed"):
        authorize(ddo, RAW)


# --- trusted algorithms by DID --------------------------------------------------------------


def test_trusted_did_pins_files_and_container(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    assert facts.did is not None
    ddo = trusting(dataset_json, facts.did, CODE_CHECKSUM, CONTAINER_SUM)
    assert authorize(ddo, facts) == CODE_CHECKSUM


def test_did_comparison_ignores_case(dataset_json: dict[str, Any], facts: AlgorithmFacts) -> None:
    assert facts.did is not None
    ddo = trusting(dataset_json, facts.did.upper().replace("DID:OP:", "did:op:"))
    assert authorize(ddo, facts) is None


def test_other_did_is_not_trusted(dataset_json: dict[str, Any], facts: AlgorithmFacts) -> None:
    ddo = trusting(dataset_json, "did:op:" + "ab" * 32, CODE_CHECKSUM, CONTAINER_SUM)
    with pytest.raises(Forbidden, match="algorithm not trusted"):
        authorize(ddo, facts)


def test_container_mismatch_is_refused(dataset_json: dict[str, Any], facts: AlgorithmFacts) -> None:
    assert facts.did is not None
    ddo = trusting(dataset_json, facts.did, CODE_CHECKSUM, "d" * 64)
    with pytest.raises(Forbidden, match="container checksum does not match the trusted algorithm"):
        authorize(ddo, facts)


def test_container_mismatch_on_a_did_pin_beats_a_trusted_publisher(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    assert facts.did is not None
    changed = copy.deepcopy(dataset_json)
    compute = changed["services"][0]["compute"]
    compute["publisherTrustedAlgorithms"][0].update(
        did=facts.did, containerSectionChecksum="d" * 64
    )
    compute["publisherTrustedAlgorithmPublishers"] = [PUBLISHER]
    with pytest.raises(Forbidden, match="container checksum does not match"):
        authorize(Ddo.model_validate(changed), facts)


def test_container_checksum_compares_case_insensitively(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    assert facts.did is not None
    ddo = trusting(dataset_json, facts.did, container=CONTAINER_SUM.upper())
    assert authorize(ddo, facts) is None


@pytest.mark.parametrize("pin", ["", "*"])
def test_empty_or_star_checksums_do_not_pin(
    dataset_json: dict[str, Any], facts: AlgorithmFacts, pin: str
) -> None:
    assert facts.did is not None
    ddo = trusting(dataset_json, facts.did, files=pin, container=pin)
    assert authorize(ddo, facts) is None


def test_star_did_trusts_any_published_algorithm(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = trusting(dataset_json, "*", CODE_CHECKSUM)
    assert authorize(ddo, facts) == CODE_CHECKSUM


def test_star_did_still_checks_the_container(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = trusting(dataset_json, "*", container="d" * 64)
    with pytest.raises(Forbidden, match="container checksum does not match"):
        authorize(ddo, facts)


def test_star_did_mismatch_falls_back_to_trusted_publisher(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = with_compute(
        dataset_json,
        publisherTrustedAlgorithms=[{"did": "*", "containerSectionChecksum": "d" * 64}],
        publisherTrustedAlgorithmPublishers=[PUBLISHER],
    )
    assert authorize(ddo, facts) is None


def test_exact_did_entry_is_preferred_to_star(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    entries = [
        {"did": "*", "filesChecksum": "e" * 64},
        {"did": facts.did, "filesChecksum": "f" * 64},
    ]
    ddo = with_compute(dataset_json, publisherTrustedAlgorithms=entries)
    assert authorize(ddo, facts) == "f" * 64


# --- trusted publishers ---------------------------------------------------------------------


def test_trusted_publisher_case_insensitive(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = with_compute(dataset_json, publisherTrustedAlgorithmPublishers=[PUBLISHER.lower()])
    assert authorize(ddo, dataclasses.replace(facts, publisher=PUBLISHER.upper())) is None


def test_star_publisher_trusts_any_publisher(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = with_compute(dataset_json, publisherTrustedAlgorithmPublishers=["*"])
    assert authorize(ddo, dataclasses.replace(facts, publisher=None)) is None


def test_other_publisher_is_not_trusted(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    ddo = with_compute(dataset_json, publisherTrustedAlgorithmPublishers=["0x" + "1" * 40])
    with pytest.raises(Forbidden, match="algorithm not trusted"):
        authorize(ddo, facts)


# --- the algorithm's own service ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["compute", "access"])
def test_algorithm_service_compute_or_access_runs(
    dataset_json: dict[str, Any], facts: AlgorithmFacts, kind: str
) -> None:
    ddo = with_compute(dataset_json, publisherTrustedAlgorithmPublishers=["*"])
    assert authorize(ddo, dataclasses.replace(facts, service_type=kind)) is None


@pytest.mark.parametrize("kind", ["wss", None])
def test_algorithm_service_of_other_type_is_refused(
    dataset_json: dict[str, Any], facts: AlgorithmFacts, kind: str | None
) -> None:
    ddo = with_compute(dataset_json, publisherTrustedAlgorithmPublishers=["*"])
    with pytest.raises(Forbidden, match="service type"):
        authorize(ddo, dataclasses.replace(facts, service_type=kind))


# --- network --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset_allows", "environment_allows", "expected"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_network_needs_dataset_and_environment(
    dataset_json: dict[str, Any], dataset_allows: bool, environment_allows: bool, expected: bool
) -> None:
    ddo = with_compute(dataset_json, allowNetworkAccess=dataset_allows)
    assert network_allowed(ddo.services[0], environment_allows) is expected


def test_no_policy_no_network() -> None:
    service = Service.model_validate({"id": "s", "type": "compute", "files": {"files": []}})
    assert network_allowed(service, True) is False


# --- filesChecksum --------------------------------------------------------------------------


def test_split_files_checksum() -> None:
    assert split_files_checksum("A" * 64 + "b" * 64) == ["a" * 64, "b" * 64]
    assert split_files_checksum(CODE_CHECKSUM) == [CODE_CHECKSUM]


@pytest.mark.parametrize("value", ["", "a" * 63, "a" * 65, "g" * 64, "0x" + "a" * 62])
def test_split_files_checksum_refuses_malformed(value: str) -> None:
    with pytest.raises(Forbidden, match="filesChecksum is malformed"):
        split_files_checksum(value)


def test_additional_dataset_may_be_an_access_service(
    dataset_json: dict[str, Any], facts: AlgorithmFacts
) -> None:
    dataset_json["services"][0]["type"] = "access"
    ddo = Ddo.model_validate(dataset_json)
    grant = authorize_algorithm(ddo, ddo.services[0], facts, label="datasets[1]", additional=True)
    assert grant.expected_files_checksum is None
