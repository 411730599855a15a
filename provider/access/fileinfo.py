"""fileInfo: what a file is (length, type, optionally checksum) and whether it can be fetched.

A HEAD through the source guard answers length and type; only a checksum asks for the body,
streamed through the compute readers with the same size cap. An asset's file addresses never
appear in the answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from provider.assets.resolver import AssetResolver, check_usable
from provider.assets.results import KEPT_FILE_TYPE, KeptFiles
from provider.errors import BadRequest
from provider.jobs.file_objects import parse_file_object
from steps.readers import FetchError, HttpFileReader, SourcePolicy, reader_for
from steps.readers.guard import guarded_transport
from steps.readers.url import check_response
from workflows.spec import FileObject

__all__ = ["FileInfo"]

_REQUEST_FIELDS = {"did", "serviceId", "checksum"}


class FileInfo:
    def __init__(
        self,
        *,
        resolver: AssetResolver,
        policy: SourcePolicy,
        gateways: Mapping[str, str] | None = None,
        timeout: float = 30,
        max_bytes: int = 10 * 2**30,
        kept: KeptFiles | None = None,
    ) -> None:
        self._resolver = resolver
        self._kept = kept
        self._policy = policy
        self._gateways = dict(gateways or {})
        self._timeout = timeout
        self._max_bytes = max_bytes

    def describe(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        checksum = body.get("checksum", False)
        if not isinstance(checksum, bool):
            raise BadRequest("checksum: must be true or false")
        if "did" in body:
            unknown = sorted(set(body) - _REQUEST_FIELDS)
            if unknown:
                raise BadRequest(f"{', '.join(unknown)}: not expected beside did and serviceId")
            return self._for_asset(str(body["did"]), str(body.get("serviceId") or ""), checksum)
        fields = {key: value for key, value in body.items() if key != "checksum"}
        file = parse_file_object(fields, label="file", gateways=self._gateways)
        return [self._info(file, checksum, name=_name(file))]

    def _for_asset(self, did: str, service_id: str, checksum: bool) -> list[dict[str, Any]]:
        ddo = check_usable(self._resolver.resolve(did))
        service = next((s for s in ddo.services if s.id == service_id), None)
        if service is None:
            raise BadRequest(f"{did} has no service {service_id!r}")
        files = service.plain_files()
        if files is None:
            raise BadRequest(f"service {service_id} of {did}: its files are not for this provider")
        answers = []
        for index, raw in enumerate(files):
            if raw.get("type") == KEPT_FILE_TYPE:
                path = self._kept(raw.get("jobId"), ddo.nft_address) if self._kept else None
                answers.append(_kept_info(path, checksum, index))
                continue
            try:
                file = parse_file_object(raw, label="file", gateways=self._gateways)
            except BadRequest:
                answers.append({"valid": False, "type": str(raw.get("type", "")), "index": index})
                continue
            answers.append(self._info(file, checksum, name=f"file{index}") | {"index": index})
        return answers

    def _info(self, file: FileObject, checksum: bool, *, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"type": file.type, "name": name}
        try:
            length, content_type = self._head(file)
            answer |= {"valid": True, "contentLength": length, "contentType": content_type}
            if checksum:
                digest, size = self._digest(file)
                answer |= {"checksum": digest, "contentLength": str(size)}
        except FetchError as error:
            answer |= {"valid": False, "reason": str(error)}
        return answer

    def _head(self, file: FileObject) -> tuple[str, str]:
        reader = reader_for(file.type, self._policy)
        if file.type != "url" and isinstance(reader, HttpFileReader):
            # Headers only: the body is left unread when the response closes.
            with reader.respond(file, timeout=self._timeout) as response:
                check_response(response, self._max_bytes)
                return _length_and_type(response)
        if file.type != "url":
            return self._probe(file)
        try:
            with httpx.Client(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=True,
                max_redirects=5,
                trust_env=False,
                transport=guarded_transport(self._policy),
            ) as client:
                response = client.head(file.url, headers=file.headers)
        except httpx.HTTPError:
            # Worded without the URL (httpx messages may quote it); the reader says why.
            return self._probe(file)
        if not response.is_success:
            return self._probe(file)
        return _length_and_type(response)

    def _probe(self, file: FileObject) -> tuple[str, str]:
        """HEAD failed: the reader's own GET says why, in its address-free words."""
        chunks = reader_for(file.type, self._policy).read(
            file, timeout=self._timeout, max_bytes=self._max_bytes
        )
        try:
            next(chunks, b"")
        finally:
            chunks.close()
        return "", ""

    def _digest(self, file: FileObject) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        for chunk in reader_for(file.type, self._policy).read(
            file, timeout=self._timeout, max_bytes=self._max_bytes
        ):
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(f"the file is larger than {self._max_bytes} bytes")
            digest.update(chunk)
        return "sha256:" + digest.hexdigest(), size


def _kept_info(path: Path | None, checksum: bool, index: int) -> dict[str, Any]:
    """A published job's outputs, kept by this provider (none: not this asset's to serve)."""
    answer: dict[str, Any] = {"type": KEPT_FILE_TYPE, "name": f"file{index}", "index": index}
    try:
        size = path.stat().st_size if path is not None else None
    except FileNotFoundError:
        size = None
    if path is None or size is None:
        return answer | {"valid": False, "reason": "the file is not kept by this provider"}
    answer |= {"valid": True, "contentLength": str(size), "contentType": "application/x-tar"}
    if checksum:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        answer["checksum"] = "sha256:" + digest.hexdigest()
    return answer


def _length_and_type(response: httpx.Response) -> tuple[str, str]:
    return response.headers.get("Content-Length", ""), response.headers.get("Content-Type", "")


def _name(file: FileObject) -> str:
    if file.type == "s3" and file.s3_access is not None:
        return file.s3_access.object_key.rsplit("/", 1)[-1]
    if file.type in ("url", "ftp"):
        return urlsplit(file.url).path.rsplit("/", 1)[-1]
    return str(file.hash or file.transaction_id or "")
