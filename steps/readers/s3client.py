"""A small S3 client: SigV4-signed requests over httpx, through the source guard.

Enough for the two uses here: a streamed GetObject (``type: s3`` inputs) and a multipart upload
(``output`` to S3). Error texts name the S3 error code, never the URL or the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

from steps.readers.guard import SourcePolicy, guarded_transport
from workflows.output_spec import S3Access

__all__ = ["S3Client", "S3Error"]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ERROR_BODY_CAP = 64 * 1024
_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")
_UPLOAD_ID = re.compile(rb"<UploadId>([^<]{1,1024})</UploadId>")
_CONTENTS = re.compile(rb"<Contents>(.*?)</Contents>", re.DOTALL)
_KEY = re.compile(rb"<Key>([^<]{1,1024})</Key>")
_MODIFIED = re.compile(rb"<LastModified>([^<]{1,64})</LastModified>")
_NEXT = re.compile(rb"<NextContinuationToken>([^<]{1,1024})</NextContinuationToken>")
_LIST_PAGE = 100


class S3Error(Exception):
    """An S3 request failed; the message is safe to show to the job's owner."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of the answer (0: not an HTTP error)


class S3Client:
    def __init__(self, access: S3Access, policy: SourcePolicy, timeout: float) -> None:
        self._access = access
        endpoint = urlsplit(access.endpoint)
        self._scheme = endpoint.scheme
        host = endpoint.netloc
        base = endpoint.path.rstrip("/")
        key = quote(access.object_key.lstrip("/"), safe="/-_.~")
        if access.force_path_style:
            self._host, self._bucket_path = host, f"{base}/{quote(access.bucket, safe='')}/"
        else:
            self._host, self._bucket_path = f"{access.bucket}.{host}", f"{base}/"
        self._path = self._bucket_path + key
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            trust_env=False,
            follow_redirects=False,
            transport=guarded_transport(policy),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> S3Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def get(self, byte_range: str | None = None) -> Iterator[httpx.Response]:
        """GetObject, streamed: the response's body is not read yet. With ``byte_range`` (a
        ``Range`` value, signed with the rest), a 416 is answered too, not raised."""
        extra = {} if byte_range is None else {"range": byte_range}
        request = self._request("GET", {}, b"", payload_hash=_EMPTY_SHA256, extra=extra)
        response = self._client.send(request, stream=True)
        try:
            unsatisfiable = byte_range is not None and response.status_code == 416
            if not response.is_success and not unsatisfiable:
                _raise_for(response)
            yield response
        finally:
            response.close()

    def delete(self) -> None:
        """DeleteObject (one that is already gone is no error, as S3 answers 204 either way)."""
        self._call("DELETE", {}, b"")

    def list_objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Key and LastModified of each object of the bucket under ``prefix`` (ListObjectsV2,
        small pages: an answer is read only up to 64 KiB)."""
        query = {"list-type": "2", "prefix": prefix, "max-keys": str(_LIST_PAGE)}
        while True:
            body = self._call("GET", query, b"", path=self._bucket_path)
            for item in _CONTENTS.finditer(body):
                key, modified = _KEY.search(item.group(1)), _MODIFIED.search(item.group(1))
                if key and modified:
                    yield _xml_unescape(key.group(1).decode()), _timestamp(modified.group(1))
            token = _NEXT.search(body)
            if b"<IsTruncated>true</IsTruncated>" not in body or token is None:
                return
            query = {**query, "continuation-token": _xml_unescape(token.group(1).decode())}

    def create_multipart(self) -> str:
        body = self._call("POST", {"uploads": ""}, b"")
        found = _UPLOAD_ID.search(body)
        if not found:
            raise S3Error("the S3 server answered CreateMultipartUpload without an UploadId")
        return found.group(1).decode()

    def upload_part(self, upload_id: str, number: int, data: bytes) -> str:
        request = self._request("PUT", {"partNumber": str(number), "uploadId": upload_id}, data)
        response = self._client.send(request)
        if not response.is_success:
            _raise_for(response)
        etag: str = response.headers.get("ETag", "")
        if not etag:
            raise S3Error(f"the S3 server answered part {number} without an ETag")
        return etag

    def complete(self, upload_id: str, etags: list[str]) -> None:
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_escape(tag)}</ETag></Part>"
            for n, tag in enumerate(etags, start=1)
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        answer = self._call("POST", {"uploadId": upload_id}, body)
        # S3 may answer 200 and report the failure in the body.
        if b"<Error>" in answer:
            raise S3Error(f"CompleteMultipartUpload failed ({_code(answer)})")

    def abort(self, upload_id: str) -> None:
        """Best effort: parts left behind only cost the consumer storage."""
        with suppress(S3Error, httpx.HTTPError):
            self._call("DELETE", {"uploadId": upload_id}, b"")

    def _call(
        self, method: str, query: dict[str, str], body: bytes, *, path: str | None = None
    ) -> bytes:
        response = self._client.send(self._request(method, query, body, path=path))
        if not response.is_success:
            _raise_for(response)
        return response.content[:_ERROR_BODY_CAP]

    def _request(
        self,
        method: str,
        query: dict[str, str],
        body: bytes,
        *,
        payload_hash: str = "",
        extra: dict[str, str] | None = None,
        path: str | None = None,
    ) -> httpx.Request:
        path = self._path if path is None else path
        payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
        )
        headers = {
            "host": self._host,
            "x-amz-content-sha256": payload_hash,
            "x-amz-date": stamp,
            **(extra or {}),
        }
        signed = ";".join(sorted(headers))
        canonical = "\n".join(
            [
                method,
                path,
                canonical_query,
                "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
                signed,
                payload_hash,
            ]
        )
        scope = f"{stamp[:8]}/{self._access.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(self._signing_key(stamp[:8]), to_sign.encode(), "sha256").hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._access.access_key_id}/{scope},"
            f" SignedHeaders={signed}, Signature={signature}"
        )
        url = f"{self._scheme}://{self._host}{path}"
        if canonical_query:
            url += f"?{canonical_query}"
        return self._client.build_request(method, url, headers=headers, content=body)

    def _signing_key(self, day: str) -> bytes:
        key = f"AWS4{self._access.secret_access_key}".encode()
        for part in (day, self._access.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), "sha256").digest()
        return key


def _raise_for(response: httpx.Response) -> None:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= _ERROR_BODY_CAP:
            break
    raise S3Error(f"HTTP status {response.status_code} ({_code(body)})", response.status_code)


def _code(body: bytes) -> str:
    found = _CODE.search(body)
    return found.group(1).decode() if found else "no S3 error code"


def _xml_unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    )


def _timestamp(text: bytes) -> datetime:
    return datetime.fromisoformat(text.decode().replace("Z", "+00:00"))


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
