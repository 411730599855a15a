"""Every request field is acted on or refused: Ocean Node's fields for features c2d lacks, and
fields nobody defined, get a 400 naming them (never silently dropped); metadata has Ocean Node's
1024-character limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devkit.client import C2DClient, ProviderError
from devkit.launch import ServerProcess
from tests.e2e.conftest import CONTAINER, raw_algorithm, raw_dataset

_CODE = raw_algorithm("print(1)")
_DATASET = {"fileObject": {"type": "url", "url": "https://example.org/a.csv"}}


def _refused(client: C2DClient, body: dict[str, Any]) -> str:
    with pytest.raises(ProviderError) as caught:
        client.free_compute({"environment": "free", "algorithm": _CODE, **body})
    assert caught.value.status_code == 400, caught.value
    return caught.value.message


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"policyServer": {"sessionId": "x"}}, "policyServer: this provider has no policy server"),
        ({"outputBucketId": "b1"}, "outputBucketId: this provider has no persistent storage"),
        ({"node": "16Uiu2HAm"}, "node: this provider routes no requests to other nodes"),
        ({"colour": "red"}, "unknown field 'colour': this provider does not act on it"),
        (
            {"algorithm": {**_CODE, "userdata": {"a": 1}}},
            "algorithm: userdata: an algorithm takes no userdata",
        ),
        (
            {"algorithm": {**_CODE, "fileObject": {"type": "url", "url": "https://a.b/c"}}},
            "algorithm: fileObject: give a raw algorithm's code in meta.rawcode or meta.url",
        ),
        (
            {
                "algorithm": {
                    "meta": {
                        "rawcode": "x",
                        "container": {**CONTAINER, "additionalDockerFiles": {"a.txt": "x"}},
                    }
                }
            },
            "algorithm.meta.container: additionalDockerFiles: this provider builds no images",
        ),
        (
            {"datasets": [{**_DATASET, "serviceIndex": 0}]},
            "datasets.0: unknown field 'serviceIndex'",
        ),
        (
            {
                "datasets": [_DATASET],
                "dataset": {"fileObject": {"type": "url", "url": "https://x.y/z"}},
            },
            "dataset: must be a copy of datasets[0]",
        ),
        ({"payment": {"chainId": 1}}, "payment: a free job takes no payment and no orders"),
        ({"payment": {"currency": "x"}}, "payment: unknown field 'currency'"),
        ({"chainId": 8996}, "chainId: a free job takes no payment and no orders"),
        (
            {"datasets": [{**_DATASET, "transferTxId": "0x" + "ab" * 32}]},
            "datasets[0].transferTxId: a free job takes no payment and no orders",
        ),
        (
            {"maxJobDuration": 60, "payment": {"maxJobDuration": 61}},
            "maxJobDuration: differs from payment.maxJobDuration",
        ),
        (
            {"metadata": {"note": "x" * 1100}},
            "metadata: Metadata size is too large: 1111 characters as JSON, at most 1024",
        ),
    ],
)
def test_a_field_not_acted_on_is_400_naming_it(
    client: C2DClient, body: dict[str, Any], error: str
) -> None:
    assert _refused(client, body).startswith(error)


def test_metadata_up_to_the_limit_and_the_dataset_copy_are_accepted(
    client: C2DClient, file_server: Any
) -> None:
    dataset = raw_dataset(file_server.url("weather.csv"))
    # {"note":"…"} is 11 characters around the note: 1024 in all.
    job = client.free_compute(
        {
            "environment": "free",
            "algorithm": _CODE,
            "datasets": [dataset],
            "dataset": dataset,
            "metadata": {"note": "é" * 1013},
        }
    )
    assert job["metadata"] == {"note": "é" * 1013}
    client.stop(job["jobId"])


def test_initialize_compute_refuses_the_same_fields(server: ServerProcess) -> None:
    body = {
        "consumerAddress": "0x" + "ab" * 20,
        "environment": "free",
        "algorithm": _CODE,
        "policyServer": {"x": 1},
    }
    answer = httpx.post(server.url + "/api/services/initializeCompute", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("policyServer: this provider has no policy server")
