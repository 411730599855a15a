"""The policy of docs/design.md#policy applied to assets resolved from chain: one test per rule."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from provider.chain.client import ChainClient
from tests.chain.market import CONTAINER, Market, job_body


def refusal(market: Market, buyer: LocalAccount, body: dict[str, object]) -> tuple[int, str]:
    answer = market.initialize(buyer, body)
    return answer.status_code, answer.json().get("error", "")


def test_private_by_default(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset({"publisherTrustedAlgorithms": []})
    assert refusal(market, buyer, job_body(algorithm, [dataset])) == (
        403,
        "datasets[0]: algorithm not trusted",
    )


def test_trusted_algorithm_passes(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    assert market.initialize(buyer, job_body(algorithm, [dataset])).status_code == 200


def test_container_checksum_must_match_the_trusted_one(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    policy = market.trusting(algorithm)
    policy["publisherTrustedAlgorithms"][0]["containerSectionChecksum"] = "0" * 64
    dataset = market.dataset(policy)
    status, error = refusal(market, buyer, job_body(algorithm, [dataset]))
    assert status == 403 and error.startswith("datasets[0]: the algorithm's container checksum")


def test_trusted_publisher_passes(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset({"publisherTrustedAlgorithmPublishers": [market.publisher.address]})
    assert market.initialize(buyer, job_body(algorithm, [dataset])).status_code == 200


def test_untrusted_publisher_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset({"publisherTrustedAlgorithmPublishers": [buyer.address]})
    assert refusal(market, buyer, job_body(algorithm, [dataset]))[0] == 403


def test_raw_algorithm_needs_allow_raw_algorithm(market: Market, buyer: LocalAccount) -> None:
    raw = {"meta": {"rawcode": "print(1)", "container": dict(CONTAINER)}}
    closed = market.dataset({"publisherTrustedAlgorithms": []})
    assert refusal(market, buyer, job_body(raw, [closed])) == (
        403,
        "datasets[0]: raw algorithms are not allowed",
    )
    open_ = market.dataset({"allowRawAlgorithm": True})
    assert market.initialize(buyer, job_body(raw, [open_])).status_code == 200


def test_denied_address_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    credentials = {"allow": [], "deny": [{"type": "address", "values": [buyer.address.lower()]}]}
    dataset = market.dataset(market.trusting(algorithm), credentials=credentials)
    status, error = refusal(market, buyer, job_body(algorithm, [dataset]))
    assert (
        status == 403
        and error == f"datasets[0]: {buyer.address} is not allowed to use {dataset.did}"
    )


def test_address_not_on_the_allow_list_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    credentials = {"allow": [{"type": "address", "values": [market.publisher.address]}]}
    dataset = market.dataset(market.trusting(algorithm), credentials=credentials)
    assert refusal(market, buyer, job_body(algorithm, [dataset]))[0] == 403


def test_access_service_cannot_be_computed_on(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(None, service_type="access")
    status, error = refusal(market, buyer, job_body(algorithm, [dataset]))
    assert status == 403 and "is not a compute service" in error


def test_algorithm_must_be_an_algorithm_asset(market: Market, buyer: LocalAccount) -> None:
    dataset = market.dataset({"allowRawAlgorithm": True})
    status, error = refusal(market, buyer, job_body(dataset, [dataset]))
    assert status == 400 and error == f"algorithm: {dataset.did} is not an algorithm asset"


def _set_state(market: Market, nft: str, state: int) -> None:
    client: ChainClient = market.client
    contract = client.contract("ERC721Template", nft)
    client.transact(market.publisher, contract.functions.setMetaDataState(state), "state")


def test_revoked_asset_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    assert market.initialize(buyer, job_body(algorithm, [dataset])).status_code == 200
    _set_state(market, dataset.nft, 3)
    status, error = refusal(market, buyer, job_body(algorithm, [dataset]))
    assert (
        status == 403
        and error == f"asset {dataset.did} is revoked (nft state 3) and cannot be used"
    )


def test_deprecated_algorithm_is_refused(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    _set_state(market, algorithm.nft, 2)
    status, error = refusal(market, buyer, job_body(algorithm, [dataset]))
    assert status == 403 and "is deprecated" in error


def test_unknown_did_is_not_found(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    missing = {"documentId": "did:op:" + "0" * 64, "serviceId": "x"}
    assert refusal(market, buyer, job_body(algorithm, [missing]))[0] == 404


def test_additional_dataset_may_be_an_access_service(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    first = market.dataset(market.trusting(algorithm))
    extra = market.dataset(None, service_type="access")
    assert market.initialize(buyer, job_body(algorithm, [first, extra])).status_code == 200
