"""A registry v2 client: manifests by tag or digest, blobs streamed and verified against digests.

Every address goes through the source guard (steps/readers/guard.py), as dataset URLs do; plain
HTTP only for registries the operator names in ``C2D_INSECURE_REGISTRIES`` (Docker's "insecure
registries"). Anonymous, basic and bearer-token access (the token server is asked with the
credentials, if any, as Docker does). Nothing is trusted before its digest is checked: a
manifest's bytes against the digest asked for (or the checksum), each blob while it streams,
against both its digest and the size the manifest gave it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import platform
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from steps.images.blobs import BlobStore
from steps.images.errors import PullError
from steps.images.reference import DIGEST, ImageReference
from steps.readers.guard import SourcePolicy, guarded_transport, refusal_reason

__all__ = [
    "INSECURE_REGISTRIES_ENV",
    "PROGRESS_STEP",
    "BlobStore",
    "Credentials",
    "Layer",
    "Progress",
    "PullError",
    "Pulled",
    "RegistryClient",
    "insecure_registries",
]

INSECURE_REGISTRIES_ENV = "C2D_INSECURE_REGISTRIES"
MANIFEST_BYTES = 4 * 2**20
CONFIG_BYTES = 8 * 2**20
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_ACCEPT = ", ".join((*_MANIFEST_TYPES, *_INDEX_TYPES))
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
# A progress line per this many bytes of a layer (and one when it is complete).
PROGRESS_STEP = 16 * 2**20

# Where progress lines go (the job's configure log); never given a credential.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Credentials:
    username: str
    # Never in a repr: a credential must not reach a log line through an f-string or a traceback.
    password: str = field(repr=False)


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Pulled:
    """A resolved image: ``digest`` is what a ``checksum`` pins (the manifest or index the
    reference named), ``config`` the image's configuration, ``layers`` lowest first."""

    digest: str
    config: dict[str, Any]
    layers: tuple[Layer, ...]
    fetched_bytes: int = 0


def insecure_registries(environ: Mapping[str, str]) -> frozenset[str]:
    """``host:port`` names from ``C2D_INSECURE_REGISTRIES`` (comma-separated)."""
    names = environ.get(INSECURE_REGISTRIES_ENV, "").split(",")
    return frozenset(name.strip() for name in names if name.strip())


def host_platform() -> tuple[str, str]:
    machine = platform.machine()
    return "linux", _ARCH.get(machine, machine)


@dataclass
class RegistryClient:
    policy: SourcePolicy
    insecure: frozenset[str] = frozenset()
    credentials: Credentials | None = None
    timeout: float = 60.0
    progress: Progress | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    def report(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def resolve(self, ref: ImageReference, blobs: BlobStore) -> Pulled:
        """The manifest of ``ref`` for this platform and its config blob; layers not fetched."""
        with self._client() as client:
            raw, digest = self._manifest(client, ref, ref.reference, ref.digest)
            manifest = _json(raw, "manifest")
            if manifest.get("mediaType") in _INDEX_TYPES or "manifests" in manifest:
                chosen = _platform_manifest(manifest)
                raw, _ = self._manifest(client, ref, chosen, chosen)
                manifest = _json(raw, "manifest")
            if manifest.get("mediaType", _MANIFEST_TYPES[0]) not in _MANIFEST_TYPES:
                raise PullError(f"unsupported manifest type {manifest.get('mediaType')!r}")
            config_desc = _descriptor(manifest.get("config"))
            if config_desc.size > CONFIG_BYTES:
                raise PullError(f"the image config is {config_desc.size} bytes, too large")
            fetched = self._blob(client, ref, config_desc, blobs)
            config = _json(blobs.path(config_desc.digest).read_bytes(), "image config")
            layers = tuple(_descriptor(item) for item in manifest.get("layers") or [])
        return Pulled(digest, config, layers, fetched)

    def fetch_layers(
        self, ref: ImageReference, pulled: Pulled, blobs: BlobStore, cap_bytes: int
    ) -> int:
        """Fetch every layer not already stored; returns the bytes fetched."""
        total = sum(layer.size for layer in pulled.layers)
        if total > cap_bytes:
            raise PullError(f"the image's layers are {total} bytes, over the cap of {cap_bytes}")
        missing = [layer for layer in pulled.layers if not blobs.has(layer.digest)]
        wanted = sum(layer.size for layer in missing)
        self.report(
            f"image {ref}: {len(pulled.layers)} layer(s), {_size(total)};"
            f" fetching {len(missing)} ({_size(wanted)}), the others are cached"
        )
        with self._client() as client:
            return sum(
                self._blob(client, ref, layer, blobs, f"layer {n}/{len(missing)}")
                for n, layer in enumerate(missing, 1)
            )

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=guarded_transport(self.policy), timeout=self.timeout, follow_redirects=True
        )

    def _base(self, ref: ImageReference) -> str:
        scheme = "http" if ref.registry in self.insecure else "https"
        return f"{scheme}://{ref.registry}/v2/{ref.repository}"

    def _manifest(
        self, client: httpx.Client, ref: ImageReference, name: str, expected: str | None
    ) -> tuple[bytes, str]:
        url = f"{self._base(ref)}/manifests/{name}"
        with self._stream(client, ref, url, {"Accept": _ACCEPT}) as response:
            if response.status_code == 404:
                pinned = " (no manifest has that digest)" if expected else ""
                raise PullError(f"image {ref} not found in the registry{pinned}")
            _check(response, ref)
            raw = _read_capped(response, MANIFEST_BYTES, "manifest")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if expected and digest != expected:
            raise PullError(f"the registry's manifest has digest {digest}, not {expected}")
        return raw, digest

    def _blob(
        self,
        client: httpx.Client,
        ref: ImageReference,
        layer: Layer,
        blobs: BlobStore,
        label: str = "",
    ) -> int:
        with blobs.fetching(layer.digest):
            if blobs.has(layer.digest):
                return 0
            size = self._fetch_blob(client, ref, layer, blobs, label)
        if label:
            self._progress(label, layer, size, done=True)
        return size

    def _fetch_blob(
        self, client: httpx.Client, ref: ImageReference, layer: Layer, blobs: BlobStore, label: str
    ) -> int:
        url = f"{self._base(ref)}/blobs/{layer.digest}"
        hasher = hashlib.sha256()
        size = 0
        with blobs.writer(layer.digest) as out, self._stream(client, ref, url, {}) as response:
            _check(response, ref)
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
                if size > layer.size:
                    raise PullError(f"blob {layer.digest} is larger than its manifest says")
                hasher.update(chunk)
                out.write(chunk)
                if label and size // PROGRESS_STEP > (size - len(chunk)) // PROGRESS_STEP:
                    self._progress(label, layer, size)
            if size != layer.size:
                raise PullError(f"blob {layer.digest} is smaller than its manifest says")
            if "sha256:" + hasher.hexdigest() != layer.digest:
                raise PullError(f"blob {layer.digest} does not match its digest")
            out.verified = True
        return size

    def _progress(self, label: str, layer: Layer, size: int, *, done: bool = False) -> None:
        digest = layer.digest.removeprefix("sha256:")[:12]
        state = ", verified" if done else ""
        self.report(f"{label} {digest}: {_size(size)} of {_size(layer.size)}{state}")

    def _stream(
        self, client: httpx.Client, ref: ImageReference, url: str, headers: dict[str, str]
    ) -> _Response:
        return _Response(self, client, ref, url, headers)

    def authorize(
        self, client: httpx.Client, ref: ImageReference, challenge: str
    ) -> dict[str, str]:
        """The header a 401's ``WWW-Authenticate`` asks for, or PullError."""
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE.findall(params_text))
        if scheme.lower() == "basic" and self.credentials is not None:
            pair = f"{self.credentials.username}:{self.credentials.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if scheme.lower() != "bearer" or "realm" not in params:
            raise PullError(f"the registry refused access to {ref} (no usable credentials)")
        scope = params.get("scope") or f"repository:{ref.repository}:pull"
        if scope not in self._tokens:
            query = {"scope": scope}
            if "service" in params:
                query["service"] = params["service"]
            auth = None
            if self.credentials is not None:
                auth = (self.credentials.username, self.credentials.password)
            try:
                answer = client.get(params["realm"], params=query, auth=auth)
            except httpx.HTTPError as error:
                raise PullError(_network_reason(error, "token server")) from None
            if answer.status_code != 200:
                raise PullError(f"the registry's token server refused access to {ref}")
            body = _json(answer.content[:MANIFEST_BYTES], "token")
            token = body.get("token") or body.get("access_token")
            if not isinstance(token, str):
                raise PullError("the registry's token server gave no token")
            self._tokens[scope] = token
        return {"Authorization": f"Bearer {self._tokens[scope]}"}


class _Response:
    """A streamed GET that answers a 401 challenge once."""

    def __init__(
        self,
        owner: RegistryClient,
        client: httpx.Client,
        ref: ImageReference,
        url: str,
        headers: dict[str, str],
    ) -> None:
        self._args = (owner, client, ref, url, headers)
        self._context: Any = None

    def __enter__(self) -> httpx.Response:
        owner, client, ref, url, headers = self._args
        extra: dict[str, str] = {}
        for _ in range(2):
            try:
                self._context = client.stream("GET", url, headers={**headers, **extra})
                response: httpx.Response = self._context.__enter__()
            except httpx.HTTPError as error:
                raise PullError(_network_reason(error, ref.registry)) from None
            if response.status_code != 401 or extra:
                return response
            challenge = response.headers.get("www-authenticate", "")
            self._context.__exit__(None, None, None)
            extra = owner.authorize(client, ref, challenge)
        return response

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)


def _size(count: int) -> str:
    """Bytes as a person reads them in a log (MB are 10^6 bytes, as registries show them)."""
    if count < 10**6:
        return f"{count} bytes"
    return f"{count / 10**6:.1f} MB"


def _descriptor(item: object) -> Layer:
    if not isinstance(item, dict):
        raise PullError("the manifest has a malformed descriptor")
    digest, size = item.get("digest"), item.get("size")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise PullError(f"the manifest names an unsupported digest {digest!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise PullError(f"the manifest gives blob {digest} no valid size")
    return Layer(digest, size, str(item.get("mediaType", "")))


def _platform_manifest(index: dict[str, Any]) -> str:
    wanted = host_platform()
    for item in index.get("manifests") or []:
        found = item.get("platform") or {} if isinstance(item, dict) else {}
        if (found.get("os"), found.get("architecture")) == wanted:
            return _descriptor(item).digest
    raise PullError(f"the image has no manifest for {wanted[0]}/{wanted[1]}")


def _check(response: httpx.Response, ref: ImageReference) -> None:
    if response.status_code in (401, 403):
        raise PullError(f"the registry refused access to {ref} ({response.status_code})")
    if response.status_code != 200:
        raise PullError(f"the registry answered {response.status_code} for {ref}")


def _read_capped(response: httpx.Response, cap: int, what: str) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > cap:
            raise PullError(f"the {what} is larger than {cap} bytes")
    return bytes(data)


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise PullError(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise PullError(f"the {what} is not a JSON object")
    return value


def _network_reason(error: httpx.HTTPError, where: str) -> str:
    refused = refusal_reason(error)
    if refused:
        return f"registry {where}: {refused}"
    return f"could not reach {where}: {type(error).__name__}"
