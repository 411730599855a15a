"""RegistryResolver: DDO files in a folder, found by DID, reloaded when the folder changes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from devkit.demo import assets as demo
from provider.assets.resolver import RegistryResolver
from provider.errors import BadRequest, Forbidden, NotFound


def test_resolves_by_id_whatever_the_file_name(
    tmp_path: Path, algorithm_json: dict[str, Any], dataset_json: dict[str, Any]
) -> None:
    demo.save(algorithm_json, tmp_path, "my-algo")
    demo.save(dataset_json, tmp_path, "weather")
    resolver = RegistryResolver(tmp_path)
    assert resolver.resolve(algorithm_json["id"]).metadata.type == "algorithm"
    assert resolver.resolve(dataset_json["id"]).metadata.type == "dataset"


def test_did_lookup_ignores_hex_case(tmp_path: Path, algorithm_json: dict[str, Any]) -> None:
    demo.save(algorithm_json, tmp_path, "algorithm")
    did = algorithm_json["id"]
    assert RegistryResolver(tmp_path).resolve("did:op:" + did[7:].upper()).id == did


def test_reloads_when_a_file_is_written(
    tmp_path: Path, algorithm_json: dict[str, Any], dataset_json: dict[str, Any]
) -> None:
    demo.save(algorithm_json, tmp_path, "algorithm")
    resolver = RegistryResolver(tmp_path)
    with pytest.raises(NotFound):
        resolver.resolve(dataset_json["id"])
    demo.save(dataset_json, tmp_path, "dataset")
    assert resolver.resolve(dataset_json["id"]).id == dataset_json["id"]


def test_reloads_when_a_file_changes_or_goes(
    tmp_path: Path, algorithm_json: dict[str, Any]
) -> None:
    demo.save(algorithm_json, tmp_path, "algorithm")
    resolver = RegistryResolver(tmp_path)
    assert resolver.resolve(algorithm_json["id"]).metadata.name == "Column statistics"
    algorithm_json["metadata"]["name"] = "Renamed statistics, longer"
    demo.save(algorithm_json, tmp_path, "algorithm")
    assert resolver.resolve(algorithm_json["id"]).metadata.name == "Renamed statistics, longer"
    (tmp_path / "algorithm.json").unlink()
    with pytest.raises(NotFound):
        resolver.resolve(algorithm_json["id"])


def test_unknown_did_is_not_found(tmp_path: Path) -> None:
    did = "did:op:" + "ab" * 32
    with pytest.raises(NotFound, match=f"asset {did} not found"):
        RegistryResolver(tmp_path).resolve(did)


def test_missing_folder_holds_nothing(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        RegistryResolver(tmp_path / "absent").resolve("did:op:" + "ab" * 32)


def test_malformed_did_is_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(BadRequest):
        RegistryResolver(tmp_path).resolve("did:op:nope")


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"id": "did:op:12"}', "\xff\xfe", ""], ids=repr
)
def test_invalid_file_is_skipped_with_a_warning(
    tmp_path: Path,
    algorithm_json: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    content: str,
) -> None:
    (tmp_path / "broken.json").write_text(content, encoding="latin-1")
    demo.save(algorithm_json, tmp_path, "algorithm")
    with caplog.at_level(logging.WARNING, logger="c2d.assets"):
        assert RegistryResolver(tmp_path).resolve(algorithm_json["id"])
    assert "skipping broken.json" in caplog.text


def test_file_claiming_another_nfts_did_is_skipped(
    tmp_path: Path, algorithm_json: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    algorithm_json["chainId"] = 1
    demo.save(algorithm_json, tmp_path, "algorithm")
    with caplog.at_level(logging.WARNING, logger="c2d.assets"), pytest.raises(NotFound):
        RegistryResolver(tmp_path).resolve(algorithm_json["id"])
    assert "is not the DID of nftAddress" in caplog.text


def test_other_files_are_ignored(tmp_path: Path, algorithm_json: dict[str, Any]) -> None:
    (tmp_path / "notes.txt").write_text("{}")
    (tmp_path / "sub.json").mkdir()
    demo.save(algorithm_json, tmp_path, "algorithm")
    assert RegistryResolver(tmp_path).resolve(algorithm_json["id"])


def test_duplicate_did_keeps_the_first_file(
    tmp_path: Path, algorithm_json: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    demo.save(algorithm_json, tmp_path, "a")
    copy = json.loads(json.dumps(algorithm_json))
    copy["metadata"]["name"] = "impostor"
    demo.save(copy, tmp_path, "b")
    with caplog.at_level(logging.WARNING, logger="c2d.assets"):
        ddo = RegistryResolver(tmp_path).resolve(algorithm_json["id"])
    assert ddo.metadata.name == "Column statistics"
    assert "b.json repeats" in caplog.text


@pytest.mark.parametrize(
    ("state", "name"),
    [(1, "end-of-life"), (2, "deprecated"), (3, "revoked"), (4, "ordering disabled")],
)
def test_unusable_state_is_refused(
    tmp_path: Path, dataset_json: dict[str, Any], state: int, name: str
) -> None:
    dataset_json["nft"]["state"] = state
    demo.save(dataset_json, tmp_path, "dataset")
    with pytest.raises(Forbidden, match=f"is {name} \\(nft state {state}\\)"):
        RegistryResolver(tmp_path).resolve(dataset_json["id"])


def test_unknown_state_is_refused(tmp_path: Path, dataset_json: dict[str, Any]) -> None:
    dataset_json["nft"]["state"] = 9
    demo.save(dataset_json, tmp_path, "dataset")
    with pytest.raises(Forbidden, match="unknown state"):
        RegistryResolver(tmp_path).resolve(dataset_json["id"])


@pytest.mark.parametrize("state", [0, 5])
def test_active_and_unlisted_are_usable(
    tmp_path: Path, dataset_json: dict[str, Any], state: int
) -> None:
    dataset_json["nft"]["state"] = state
    demo.save(dataset_json, tmp_path, "dataset")
    assert RegistryResolver(tmp_path).resolve(dataset_json["id"]).nft_state == state
