"""Pulls from Debian's docker-registry on loopback: tags, digests, checksums, lies, refusals,
basic and bearer-token credentials."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from steps.images.reference import parse_reference
from steps.images.registry import BlobStore, Credentials, PullError, RegistryClient
from steps.readers.guard import SourcePolicy
from tests.steps.images.oci import (
    OCI_INDEX,
    Pusher,
    busybox_layout,
    entry,
    htpasswd_auth_config,
    layer,
    registry,
)
from tests.steps.images.tokens import TokenIssuer, token_auth_config, token_server


def test_an_umoci_image_pulls_by_tag_and_by_digest(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    digest = pusher.layout(busybox_layout(), "tools/busybox", "1")
    blobs = BlobStore(tmp_path / "blobs")
    by_tag = client.resolve(parse_reference(f"{pusher.registry}/tools/busybox", "1"), blobs)
    assert by_tag.digest == digest
    assert by_tag.config["config"]["Env"] == ["GREETING=from-the-image"]
    pinned = parse_reference(f"{pusher.registry}/tools/busybox", checksum=digest)
    by_digest = client.resolve(pinned, blobs)
    assert by_digest.layers == by_tag.layers
    fetched = client.fetch_layers(pinned, by_digest, blobs, 10 * 2**20)
    assert fetched == sum(layer.size for layer in by_digest.layers) > 500_000
    assert client.fetch_layers(pinned, by_digest, blobs, 10 * 2**20) == 0  # stored, verified


def test_a_checksum_other_than_the_manifest_digest_is_refused(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    pusher.layout(busybox_layout(), "tools/busybox", "1")
    other = pusher.image("tools/other", "1", [layer(entry("a", b"a"))])
    ref = parse_reference(f"{pusher.registry}/tools/busybox", "1", checksum=other)
    with pytest.raises(PullError, match="not found"):
        client.resolve(ref, BlobStore(tmp_path))


def test_a_registry_that_answers_other_bytes_for_a_digest_is_refused(
    client: RegistryClient, pusher: Pusher, tmp_path: Path
) -> None:
    digest = pusher.image("tools/x", "1", [layer(entry("a", b"a"))])
    ref = parse_reference(f"{pusher.registry}/tools/x", "1")
    assert client.resolve(ref, BlobStore(tmp_path)).digest == digest
    with pytest.raises(PullError, match=f"not {digest[:-1]}0"):
        client._manifest(client._client(), ref, "1", digest[:-1] + "0")


def test_an_unknown_tag_says_not_found(client: RegistryClient, pusher: Pusher) -> None:
    ref = parse_reference(f"{pusher.registry}/tools/none", "nope")
    with pytest.raises(PullError, match=r"tools/none:nope not found"):
        client.resolve(ref, BlobStore(Path("/nonexistent-never-written")))


def test_a_manifest_that_lies_about_a_layer_size_is_refused(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    data = layer(entry("big", b"x" * 100_000))
    pusher.image("tools/liar", "small", [data], sizes=[len(data) - 10])
    ref = parse_reference(f"{pusher.registry}/tools/liar", "small")
    blobs = BlobStore(tmp_path / "blobs")
    pulled = client.resolve(ref, blobs)
    with pytest.raises(PullError, match="larger than its manifest says"):
        client.fetch_layers(ref, pulled, blobs, 2**30)
    assert [p.name for p in blobs.root.iterdir() if p.stat().st_size > 10_000] == []


def test_the_pull_cap_refuses_before_downloading(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    pusher.layout(busybox_layout(), "tools/busybox", "1")
    ref = parse_reference(f"{pusher.registry}/tools/busybox", "1")
    blobs = BlobStore(tmp_path / "blobs")
    pulled = client.resolve(ref, blobs)
    with pytest.raises(PullError, match="over the cap of 1000"):
        client.fetch_layers(ref, pulled, blobs, 1000)


def test_an_index_resolves_to_this_platform(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    amd64 = pusher.image("tools/multi", "amd64", [layer(entry("arch", b"amd64"))])
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": amd64,
                "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
    index_digest = pusher.manifest("tools/multi", "1", json.dumps(index).encode(), OCI_INDEX)
    ref = parse_reference(f"{pusher.registry}/tools/multi", "1")
    pulled = client.resolve(ref, BlobStore(tmp_path))
    assert pulled.digest == index_digest  # what a checksum pins, as `docker pull` reports it
    assert len(pulled.layers) == 1


def test_loopback_and_plain_http_need_the_operators_consent(pusher: Pusher, tmp_path: Path) -> None:
    pusher.image("tools/x", "1", [layer(entry("a", b"a"))])
    ref = parse_reference(f"{pusher.registry}/tools/x", "1")
    guarded = RegistryClient(SourcePolicy(), frozenset({pusher.registry}))
    with pytest.raises(PullError, match="not allowed"):
        guarded.resolve(ref, BlobStore(tmp_path))
    tls_only = RegistryClient(SourcePolicy.parse("127.0.0.0/8"))
    with pytest.raises(PullError, match="could not reach"):
        tls_only.resolve(ref, BlobStore(tmp_path))


def test_a_registry_that_wants_bearer_tokens(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    issuer = TokenIssuer(tmp_path)
    with (
        token_server(issuer) as realm,
        registry(
            tmp_path_factory.mktemp("token-registry"), token_auth_config(realm, issuer)
        ) as address,
    ):
        pusher = Pusher(address, token=lambda scope: issuer.token(scope, pusher=True) or "")
        digest = pusher.image("tools/x", "1", [layer(entry("a", b"a"))])
        pusher.image("private/x", "1", [layer(entry("a", b"a"))])
        client = RegistryClient(SourcePolicy.parse("127.0.0.0/8"), frozenset({address}))
        blobs = BlobStore(tmp_path / "blobs")
        issued = issuer.issued
        ref = parse_reference(f"{address}/tools/x", "1")
        pulled = client.resolve(ref, blobs)
        assert pulled.digest == digest
        assert client.fetch_layers(ref, pulled, blobs, 2**20) > 0
        assert issuer.issued == issued + 1  # one token for the scope, reused for every blob
        anonymous = RegistryClient(SourcePolicy.parse("127.0.0.0/8"), frozenset({address}))
        with pytest.raises(PullError, match="token server refused access"):
            anonymous.resolve(parse_reference(f"{address}/private/x", "1"), blobs)


def test_a_registry_that_wants_basic_credentials(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("htpasswd-registry")
    auth = htpasswd_auth_config(folder, {"alice": "s3cret-pass"})
    with registry(folder, auth) as address:
        digest = Pusher(address, basic=("alice", "s3cret-pass")).image(
            "private/x", "1", [layer(entry("a", b"a"))]
        )
        ref = parse_reference(f"{address}/private/x", "1")
        blobs = BlobStore(tmp_path / "blobs")
        policy = SourcePolicy.parse("127.0.0.0/8")
        for credentials in (None, Credentials("alice", "wrong")):
            refused = RegistryClient(policy, frozenset({address}), credentials)
            with pytest.raises(PullError, match="refused access") as caught:
                refused.resolve(ref, blobs)
            assert "wrong" not in str(caught.value)
        client = RegistryClient(policy, frozenset({address}), Credentials("alice", "s3cret-pass"))
        pulled = client.resolve(ref, blobs)
        assert pulled.digest == digest
        assert client.fetch_layers(ref, pulled, blobs, 2**20) > 0
        assert "s3cret-pass" not in repr(client)


def test_a_token_server_that_wants_credentials_for_a_private_image(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    issuer = TokenIssuer(tmp_path)
    with (
        token_server(issuer, users={"bob": "pa55"}) as realm,
        registry(
            tmp_path_factory.mktemp("token-registry"), token_auth_config(realm, issuer)
        ) as address,
    ):
        pusher = Pusher(address, token=lambda scope: issuer.token(scope, pusher=True) or "")
        digest = pusher.image("private/y", "1", [layer(entry("a", b"a"))])
        ref = parse_reference(f"{address}/private/y", "1")
        blobs = BlobStore(tmp_path / "blobs")
        policy = SourcePolicy.parse("127.0.0.0/8")
        wrong = RegistryClient(policy, frozenset({address}), Credentials("bob", "nope"))
        with pytest.raises(PullError, match="token server refused access"):
            wrong.resolve(ref, blobs)
        client = RegistryClient(policy, frozenset({address}), Credentials("bob", "pa55"))
        pulled = client.resolve(ref, blobs)
        assert pulled.digest == digest
        assert client.fetch_layers(ref, pulled, blobs, 2**20) > 0


class _SlowFirstWrite(BlobStore):
    """Counts the blobs written; the first writer waits, so a second pull of the same image
    is inside its fetch of the same blob while the first is still writing it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.written: list[str] = []

    def writer(self, digest: str) -> Any:
        self.written.append(digest)
        if len(self.written) == 1:
            time.sleep(0.5)
        return super().writer(digest)


def test_two_pulls_of_one_image_at_once_fetch_each_blob_once(
    pusher: Pusher, client: RegistryClient, tmp_path: Path
) -> None:
    # Two jobs naming one tag resolve it together (the image's own lock comes after); each
    # resolve fetched the config blob, so the registry served it twice.
    pusher.layout(busybox_layout(), "tools/busybox", "1")
    ref = parse_reference(f"{pusher.registry}/tools/busybox", "1")
    blobs = _SlowFirstWrite(tmp_path / "blobs")
    with ThreadPoolExecutor(2) as pool:
        pulled = list(pool.map(lambda _: client.resolve(ref, blobs), range(2)))
    assert pulled[0].digest == pulled[1].digest
    assert pulled[0].config == pulled[1].config
    assert len(blobs.written) == 1  # the config blob, by the first pull
    assert sorted(p.fetched_bytes == 0 for p in pulled) == [False, True]
