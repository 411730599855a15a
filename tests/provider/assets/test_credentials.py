"""check_credentials: allow/deny lists, deny winning, addresses case-insensitive."""

from __future__ import annotations

from typing import Any

import pytest

from provider.assets.ddo import Credentials, Ddo
from provider.assets.policy import check_credentials
from provider.errors import Forbidden

CONSUMER = "0xAbC0000000000000000000000000000000000001"


def with_credentials(ddo: Ddo, **credentials: Any) -> Ddo:
    return ddo.model_copy(update={"credentials": Credentials.model_validate(credentials)})


def addresses(*values: str) -> list[dict[str, Any]]:
    return [{"type": "address", "values": list(values)}]


def test_no_credentials_allow_everyone(dataset: Ddo) -> None:
    check_credentials(dataset, CONSUMER, label="x")


def test_empty_lists_allow_everyone(dataset: Ddo) -> None:
    check_credentials(
        with_credentials(dataset, allow=addresses(), deny=addresses()), CONSUMER, label="x"
    )


def test_allow_list_admits_listed_case_insensitively(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, allow=addresses(CONSUMER.upper().replace("0X", "0x")))
    check_credentials(ddo, CONSUMER.lower(), label="x")


def test_allow_list_refuses_others(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, allow=addresses("0x" + "2" * 40))
    with pytest.raises(Forbidden, match=f"algorithm: {CONSUMER} is not allowed to use {ddo.id}"):
        check_credentials(ddo, CONSUMER, label="algorithm")


def test_star_allows_everyone(dataset: Ddo) -> None:
    check_credentials(with_credentials(dataset, allow=addresses("*")), CONSUMER, label="x")


def test_deny_list_refuses_case_insensitively(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, deny=addresses(CONSUMER.lower()))
    with pytest.raises(Forbidden, match="is not allowed"):
        check_credentials(ddo, CONSUMER, label="x")


def test_deny_list_wins_over_allow_list(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, allow=addresses(CONSUMER), deny=addresses(CONSUMER))
    with pytest.raises(Forbidden):
        check_credentials(ddo, CONSUMER, label="x")


def test_deny_star_refuses_everyone(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, allow=addresses("*"), deny=addresses("*"))
    with pytest.raises(Forbidden):
        check_credentials(ddo, CONSUMER, label="x")


def test_unverifiable_deny_rule_fails_closed(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, deny=[{"type": "accessList", "accessList": "0x1"}])
    with pytest.raises(Forbidden):
        check_credentials(ddo, CONSUMER, label="x")


def test_unverifiable_allow_rule_grants_nothing(dataset: Ddo) -> None:
    ddo = with_credentials(dataset, allow=[{"type": "accessList", "accessList": "0x1"}])
    with pytest.raises(Forbidden):
        check_credentials(ddo, CONSUMER, label="x")
    mixed = with_credentials(
        dataset, allow=[{"type": "accessList", "accessList": "0x1"}, *addresses(CONSUMER)]
    )
    check_credentials(mixed, CONSUMER, label="x")


def test_service_credentials_are_checked_when_given(dataset: Ddo) -> None:
    service = dataset.services[0].model_copy(
        update={"credentials": Credentials.model_validate({"deny": addresses(CONSUMER)})}
    )
    check_credentials(dataset, CONSUMER, label="x")
    with pytest.raises(Forbidden):
        check_credentials(dataset, CONSUMER, label="x", service=service)
