"""Properties over generated inputs: DDO parsing, signature parsing, the policy, the SSRF guard
and the rate limiter never crash unexpectedly and never grant what they must not."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from devkit.demo import assets as demo
from provider.api.ratelimit import RateLimiter, RatePolicy
from provider.api.schemas import AuthTokenRequest, InitializeComputeRequest, StartComputeRequest
from provider.assets.ddo import Ddo, Service
from provider.assets.policy import AlgorithmFacts, authorize_algorithm
from provider.auth.signature import recover_signers, request_message
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest, Forbidden, Unauthorized
from provider.jobs.resources import job_limits
from steps.readers.guard import SourcePolicy

_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@_FAST
@given(document=json_values)
def test_any_json_is_a_ddo_or_a_validation_error(document: Any) -> None:
    with contextlib.suppress(ValidationError):
        Ddo.model_validate(document)


def _dataset_json() -> dict[str, Any]:
    return demo.dataset_ddo(
        "http://127.0.0.1:1/data.csv",
        trusted_did="did:op:" + "b" * 64,
        files_checksum="",
        container_checksum="",
        publisher="0x" + "2" * 40,
    )


_DATASET = Ddo.model_validate(_dataset_json())


@_FAST
@given(
    field=st.sampled_from(["id", "version", "services", "metadata", "nftAddress", "chainId"]),
    value=json_values,
)
def test_a_mutated_field_of_a_real_ddo_parses_or_is_refused(field: str, value: Any) -> None:
    base = _dataset_json()
    base[field] = value
    with contextlib.suppress(ValidationError):
        Ddo.model_validate(base)


@_FAST
@given(
    signature=st.text(max_size=200) | st.binary(max_size=80).map(lambda b: "0x" + b.hex()),
    message=st.text(max_size=80),
)
def test_signature_parsing_recovers_or_is_unauthorized(signature: str, message: str) -> None:
    try:
        signers = recover_signers(message, signature)
    except Unauthorized:
        return
    assert signers and all(s.startswith("0x") and len(s) == 42 for s in signers)


_ACCOUNT = Account.create()


@settings(max_examples=25, deadline=None)
@given(
    nonce=st.integers(min_value=0, max_value=2**63 - 1),
    command=st.text(max_size=30),
    other=st.text(max_size=30),
)
def test_a_signature_verifies_only_its_own_message(nonce: int, command: str, other: str) -> None:
    from devkit.client import sign_request

    signature = sign_request(_ACCOUNT, nonce, command)
    assert _ACCOUNT.address in recover_signers(
        request_message(_ACCOUNT.address, nonce, command), signature
    )
    if other != command:
        assert _ACCOUNT.address not in recover_signers(
            request_message(_ACCOUNT.address, nonce, other), signature
        )


addresses = st.from_regex(r"0x[0-9a-fA-F]{40}", fullmatch=True)
facts = st.builds(
    AlgorithmFacts,
    raw=st.booleans(),
    did=st.none() | st.just("*") | st.from_regex(r"did:op:[0-9a-f]{64}", fullmatch=True),
    publisher=st.none() | addresses | st.just("*"),
    container_checksum=st.none() | st.text(max_size=64) | st.just("*"),
    service_type=st.none() | st.sampled_from(["compute", "access", "download", "*"]),
)


def _service(compute: dict[str, Any] | None) -> Service:
    body: dict[str, Any] = {
        "id": "compute",
        "type": "compute",
        "files": "0x",
        "datatokenAddress": "0x" + "1" * 40,
        "serviceEndpoint": "http://localhost",
        "timeout": 0,
    }
    if compute is not None:
        body["compute"] = compute
    return Service.model_validate(body)


@_FAST
@given(
    algorithm=facts,
    compute=st.none()
    | st.just({})
    | st.just(
        {
            "publisherTrustedAlgorithms": [],
            "publisherTrustedAlgorithmPublishers": [],
            "allowRawAlgorithm": False,
        }
    ),
)
def test_a_dataset_that_allows_nothing_runs_nothing(
    algorithm: AlgorithmFacts, compute: dict[str, Any] | None
) -> None:
    service = _service(compute)
    with pytest.raises(Forbidden):
        authorize_algorithm(_DATASET, service, algorithm, label="dataset")


@_FAST
@given(
    algorithm=facts,
    publishers=st.lists(addresses, max_size=3),
    dids=st.lists(st.from_regex(r"did:op:[0-9a-f]{64}", fullmatch=True), max_size=3),
)
def test_only_listed_algorithms_or_publishers_pass(
    algorithm: AlgorithmFacts, publishers: list[str], dids: list[str]
) -> None:
    service = _service(
        {
            "publisherTrustedAlgorithms": [{"did": d} for d in dids],
            "publisherTrustedAlgorithmPublishers": publishers,
        }
    )
    try:
        authorize_algorithm(_DATASET, service, algorithm, label="dataset")
    except (Forbidden, BadRequest):
        return
    assert not algorithm.raw
    did_listed = (algorithm.did or "").lower() in [d.lower() for d in dids]
    publisher_listed = (algorithm.publisher or "").lower() in [p.lower() for p in publishers]
    assert did_listed or publisher_listed


@_FAST
@given(address=st.ip_addresses())
def test_the_ssrf_guard_lets_only_public_addresses_through_by_default(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    permitted = SourcePolicy().permits(str(address))
    if address.is_loopback or address.is_private or address.is_link_local or address.is_multicast:
        assert not permitted
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None and not mapped.is_global:
        assert not permitted


def _ipv6_forms(v4: ipaddress.IPv4Address) -> list[ipaddress.IPv6Address]:
    """Every IPv6 spelling that leads to ``v4``: mapped, compatible, NAT64, 6to4, Teredo (as the
    client, obfuscated, behind a public server, and as the server)."""
    n = int(v4)
    public_v4 = int(ipaddress.IPv4Address("1.1.1.1"))
    return [
        ipaddress.IPv6Address((0xFFFF << 32) | n),
        ipaddress.IPv6Address(n),
        ipaddress.IPv6Address((0x64FF9B << 96) | n),
        ipaddress.IPv6Address((0x64FF9B0001 << 80) | n),
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1),
        ipaddress.IPv6Address((0x20010000 << 96) | (public_v4 << 64) | (n ^ 0xFFFFFFFF)),
        ipaddress.IPv6Address((0x20010000 << 96) | (n << 64) | 1),
    ]


@_FAST
@given(address=st.ip_addresses(v=4))
def test_no_ipv6_form_of_a_non_public_ipv4_address_passes(address: ipaddress.IPv4Address) -> None:
    policy = SourcePolicy()
    if address.is_global and not address.is_multicast:
        return
    for form in _ipv6_forms(address):
        assert not policy.permits(str(form)), (str(address), str(form))


def test_the_guard_refuses_metadata_and_opts_networks_in() -> None:
    assert not SourcePolicy().permits("169.254.169.254")
    assert not SourcePolicy().permits("::ffff:127.0.0.1")
    assert not SourcePolicy().permits("100.64.0.1")
    assert SourcePolicy().permits("1.1.1.1")
    assert SourcePolicy.parse("127.0.0.0/8").permits("127.0.0.1")
    with pytest.raises(ValueError, match="no CIDR"):
        SourcePolicy.parse("127.0.0.0/8, nonsense")


@_FAST
@given(times=st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=60))
def test_a_bucket_never_allows_more_than_burst_plus_refill(times: list[float]) -> None:
    now = [0.0]
    limiter = RateLimiter(RatePolicy(rate=2, burst=5), clock=lambda: now[0], max_keys=10)
    allowed = 0
    for t in sorted(times):
        now[0] = t
        if limiter.take("k") == 0:
            allowed += 1
    assert allowed <= 5 + 2 * max(times) + 1


# --- request bodies: hostile values anywhere are a ValidationError, never another exception ---

hostile_text = st.text(st.characters(categories=["Cs", "Cc", "Ll", "Nd", "So"]), max_size=12)
hostile_numbers = (
    st.floats()  # NaN and ±Infinity included
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.sampled_from([0, 1e-12, -1, 2**53, 2**63, 10**18, 1e308])
)
hostile_json = st.recursive(
    st.none() | st.booleans() | hostile_numbers | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=12,
)
_CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11"}
_START = {
    "consumerAddress": "0x" + "a" * 40,
    "environment": "free",
    "algorithm": {"meta": {"rawcode": "print(1)", "container": _CONTAINER}},
}
_START_FIELDS = [
    "maxJobDuration",
    "queueMaxWaitTime",
    "chainId",
    "nonce",
    "metadata",
    "environment",
    "additionalViewers",
    "payment",
    "output",
    "algorithm.envs",
    "algorithm.algocustomdata",
]


def _limits_environment() -> EnvironmentConfig:
    from provider.environments import default_config

    return default_config(Path(tempfile.mkdtemp())).environments[0]


_ENVIRONMENT = _limits_environment()


def _admits_or_refuses(request: StartComputeRequest) -> None:
    """What a validated request leads to: Limits and a storable spec, or a BadRequest."""
    try:
        limits = job_limits(request, _ENVIRONMENT, free=True)
    except BadRequest:
        return
    assert limits.disk_bytes > 0 and limits.max_job_duration >= 1
    json.dumps(request.model_dump(mode="json"), allow_nan=False).encode("utf-8")


@_FAST
@given(
    field=st.sampled_from(_START_FIELDS),
    value=hostile_numbers | hostile_text | hostile_json,
    resources=st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["cpu", "ram", "disk", "gpu"]), "amount": hostile_numbers}
        ),
        max_size=3,
    ),
)
def test_a_start_body_with_hostile_values_is_valid_or_a_validation_error(
    field: str, value: Any, resources: list[dict[str, Any]]
) -> None:
    body: dict[str, Any] = {**_START, "resources": resources}
    if field.startswith("algorithm."):
        body["algorithm"] = {**_START["algorithm"], field.removeprefix("algorithm."): value}
    else:
        body[field] = value
    try:
        request = StartComputeRequest.model_validate(body)
    except ValidationError as error:
        # The message a client gets is encodable and names something.
        assert str(error.errors()[0]["msg"]).encode("utf-8", "backslashreplace")
        return
    _admits_or_refuses(request)


@_FAST
@given(valid_until=hostile_numbers | st.none(), nonce=hostile_json)
def test_a_token_request_with_hostile_values_is_valid_or_a_validation_error(
    valid_until: Any, nonce: Any
) -> None:
    body = {"address": "0x" + "a" * 40, "signature": "0x", "nonce": nonce}
    if valid_until is not None:
        body["validUntil"] = valid_until
    with contextlib.suppress(ValidationError):
        request = AuthTokenRequest.model_validate(body)
        assert request.valid_until is None or 0 <= request.valid_until < 2**53


@_FAST
@given(payment=hostile_json, resources=hostile_json)
def test_initialize_compute_payment_is_taken_or_refused(payment: Any, resources: Any) -> None:
    body = {**_START, "payment": payment}
    if isinstance(payment, dict):
        body["payment"] = {**payment, "resources": resources}
    try:
        request = InitializeComputeRequest.model_validate(body)
        _admits_or_refuses(request.as_start())
    except (ValidationError, BadRequest):
        return
