"""What ``c2d publish`` checks before its first transaction: what goes on chain stays there.

Pure checks of the arguments first (DIDs, checksums, addresses), then what the publisher's
machine can see: the provider answers, and every file URL answers with its content.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Iterator

import httpx

from provider.errors import UsageError

__all__ = [
    "check_addresses",
    "check_reachable",
    "parse_trusted",
    "provider_address",
    "sha256_digests",
]

_DID = re.compile(r"did:op:[0-9a-fA-F]{64}")
_FILES_CHECKSUM = re.compile(r"(?:[0-9a-fA-F]{64})*")
_SECTION_CHECKSUM = re.compile(r"(?:[0-9a-fA-F]{64})?")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TRUST_FORM = "DID[,FILESCHECKSUM[,CONTAINERSECTIONCHECKSUM]] as `c2d publish algorithm` prints it"
_FILE_TIMEOUT = 30.0
_FILE_CAP = 256 * 2**20


def parse_trusted(entry: str) -> dict[str, str]:
    """One ``--trust-algorithm`` value as a publisherTrustedAlgorithms entry, or UsageError."""
    parts = [part.strip() for part in entry.split(",")]
    if len(parts) > 3:
        raise UsageError(f"--trust-algorithm {entry!r}: too many commas; give {_TRUST_FORM}")
    did, files_checksum, section_checksum = [*parts, "", ""][:3]
    if not _DID.fullmatch(did):
        raise UsageError(
            f"--trust-algorithm {entry!r}: {did!r} is no DID (did:op: and 64 hex digits);"
            f" give {_TRUST_FORM}"
        )
    if not _FILES_CHECKSUM.fullmatch(files_checksum):
        raise UsageError(
            f"--trust-algorithm {entry!r}: the files checksum must be one sha256 (64 hex digits)"
            " per file of the algorithm"
        )
    if not _SECTION_CHECKSUM.fullmatch(section_checksum):
        raise UsageError(
            f"--trust-algorithm {entry!r}: the container section checksum must be a sha256"
            " (64 hex digits)"
        )
    return {
        "did": did,
        "filesChecksum": files_checksum.lower(),
        "containerSectionChecksum": section_checksum.lower(),
    }


def check_addresses(option: str, values: Iterable[str]) -> None:
    for value in values:
        if not _ADDRESS.fullmatch(value):
            raise UsageError(f"{option} {value!r} is no address (0x and 40 hex digits)")


def provider_address(url: str) -> str:
    """The provider's address on chain, from its discovery answer; UsageError if none answers."""
    try:
        answer = httpx.get(url.rstrip("/") + "/", timeout=_FILE_TIMEOUT)
        address = answer.json()["providerAddress"] if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        reason = str(error) or type(error).__name__
        raise UsageError(
            f"no c2d provider answers at {url} ({reason}); start one with `c2d serve`"
            " or give its address with --provider"
        ) from None
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise UsageError(f"{url} answered but is no c2d provider; check --provider")
    return address


def check_reachable(urls: Iterable[str]) -> None:
    """UsageError naming the first URL that does not answer with content (the provider would
    fail every job on it); only the answer's start is read."""
    for url in urls:
        with _opened(url):
            pass


def sha256_digests(urls: Iterable[str]) -> list[str]:
    """Each file's sha256 hex digest (an algorithm's filesChecksum), read whole up to a cap."""
    digests = []
    for url in urls:
        digest = hashlib.sha256()
        size = 0
        with _opened(url) as answer:
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > _FILE_CAP:
                    raise UsageError(f"--file {url}: larger than {_FILE_CAP} bytes")
                digest.update(chunk)
        digests.append(digest.hexdigest())
    return digests


@contextlib.contextmanager
def _opened(url: str) -> Iterator[httpx.Response]:
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"--file {url!r}: only http:// and https:// URLs can be published")
    try:
        with httpx.stream("GET", url, timeout=_FILE_TIMEOUT, follow_redirects=True) as answer:
            if answer.status_code >= 400:
                raise UsageError(
                    f"--file {url}: answered {answer.status_code}; publish a URL that serves"
                    " the file"
                )
            yield answer
    except httpx.HTTPError as error:
        raise UsageError(
            f"--file {url}: not reachable ({error or type(error).__name__}); publish a URL"
            " that serves the file"
        ) from None
