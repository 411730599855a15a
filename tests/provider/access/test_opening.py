"""A download's file opened from real origins on 127.0.0.1: ranges forwarded and checked, sliced
here for an origin without ranges, whole for one of unknown length; s3 (ministack, SigV4
checked), ftp (pyftpdlib), ipfs and arweave (a loopback gateway) read the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.access.opening import Opened, open_file
from provider.access.ranges import parse_range
from provider.errors import BadRequest, RangeNotSatisfiable, ServiceUnavailable
from provider.jobs.file_objects import parse_file_object, with_userdata
from steps.readers import SourcePolicy
from tests.http_origin import Mode, Origin
from tests.storage_servers import FtpServer, S3Server
from workflows.spec import FileObject

CONTENT = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
TXID = "Jj3b4o5ZbX7zXQbQ0yRk1mXyW3_8s7vDkq9H2oPzY-c"
LOOPBACK = SourcePolicy.parse("127.0.0.0/8")


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin({"data.bin": CONTENT, f"ipfs/{CID}": CONTENT, TXID: CONTENT})
    yield server
    server.close()


def opened(file: FileObject, header: str | None, *, max_bytes: int = 2**30) -> Opened:
    return open_file(file, 0, parse_range(header), policy=LOOPBACK, timeout=10, max_bytes=max_bytes)


def body(answer: Opened) -> bytes:
    return b"".join(answer.chunks)


def url_file(origin: Origin) -> FileObject:
    return FileObject(url=origin.url("data.bin"))


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=10-19", 10, 19), ("bytes=10000-", 10000, 10239), ("bytes=-7", 10233, 10239)],
)
@pytest.mark.parametrize("mode", ["ranges", "ignores"])
def test_a_single_range_is_a_206_whichever_the_origin(
    origin: Origin, mode: Mode, header: str, first: int, last: int
) -> None:
    origin.mode = mode
    answer = opened(url_file(origin), header)
    assert answer.status == 206
    assert answer.headers["Content-Range"] == f"bytes {first}-{last}/{len(CONTENT)}"
    assert answer.headers["Content-Length"] == str(last - first + 1)
    assert body(answer) == CONTENT[first : last + 1]
    assert origin.requests[-1][1] == header  # forwarded as asked


def test_a_range_past_the_end_is_416_with_the_length(origin: Origin) -> None:
    modes: tuple[Mode, ...] = ("ranges", "ignores")
    for mode in modes:
        origin.mode = mode
        with pytest.raises(RangeNotSatisfiable) as refused:
            opened(url_file(origin), "bytes=20000-")
        assert refused.value.headers() == {"Content-Range": f"bytes */{len(CONTENT)}"}


def test_several_ranges_or_bad_syntax_answer_the_whole_file(origin: Origin) -> None:
    for header in ("bytes=0-1,5-6", "bytes=9-3", "items=0-1", "bytes=x-"):
        answer = opened(url_file(origin), header)
        assert answer.status == 200 and body(answer) == CONTENT
        assert origin.requests[-1][1] is None  # nothing forwarded


def test_an_origin_of_unknown_length_without_ranges_answers_whole(origin: Origin) -> None:
    origin.mode = "unsized"
    answer = opened(url_file(origin), "bytes=10-19")
    assert answer.status == 200 and "Content-Range" not in answer.headers
    assert body(answer) == CONTENT


def test_an_origin_answering_another_range_is_refused(origin: Origin) -> None:
    origin.mode = "lies"
    with pytest.raises(ServiceUnavailable, match="another byte range than the one asked for"):
        opened(url_file(origin), "bytes=10-19")


def test_the_size_cap_counts_the_bytes_skipped(origin: Origin) -> None:
    origin.mode = "ignores"
    with pytest.raises(ServiceUnavailable, match="size cap exceeded"):
        opened(url_file(origin), "bytes=10000-10010", max_bytes=5000)


def test_userdata_reaches_the_origin_in_the_query(origin: Origin) -> None:
    file = with_userdata(url_file(origin), {"city": "Berlin", "limit": 3})
    assert body(opened(file, None)) == CONTENT
    assert origin.requests[-1][0] == "/data.bin?city=Berlin&limit=3"


@pytest.mark.parametrize(("kind", "field"), [("ipfs", "hash"), ("arweave", "transactionId")])
def test_gateway_files_with_ranges(origin: Origin, kind: str, field: str) -> None:
    name = CID if kind == "ipfs" else TXID
    file = parse_file_object(
        {"type": kind, field: name}, label="file", gateways={kind: origin.base}
    )
    answer = opened(file, "bytes=-100")
    assert answer.status == 206 and body(answer) == CONTENT[-100:]
    expected = f"/ipfs/{CID}" if kind == "ipfs" else f"/{TXID}"
    assert origin.requests[-1] == (expected, "bytes=-100")


def test_s3_file_whole_and_a_range(s3: S3Server) -> None:
    s3.s3.create_bucket(Bucket="access")
    s3.s3.put_object(Bucket="access", Key="sets/data.bin", Body=CONTENT)
    file = parse_file_object(
        {"type": "s3", "s3Access": s3.access("access", "sets/data.bin")}, label="file"
    )
    assert body(opened(file, None)) == CONTENT
    ranged = opened(file, "bytes=100-199")
    assert ranged.status == 206
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{len(CONTENT)}"
    assert body(ranged) == CONTENT[100:200]
    with pytest.raises(RangeNotSatisfiable):
        opened(file, "bytes=99999-")


def test_s3_with_a_wrong_secret_is_a_clear_503(s3: S3Server) -> None:
    access = s3.access("access", "sets/data.bin", secretAccessKey="wrong")
    file = parse_file_object({"type": "s3", "s3Access": access}, label="file")
    with pytest.raises(ServiceUnavailable, match=r"HTTP status 403 \(SignatureDoesNotMatch\)"):
        opened(file, None)


def test_ftp_file_is_answered_whole_even_with_a_range(tmp_path: Path) -> None:
    server = FtpServer(tmp_path / "ftp")
    try:
        (server.root / "data.bin").write_bytes(CONTENT)
        file = parse_file_object({"type": "ftp", "url": server.url("data.bin")}, label="file")
        answer = opened(file, "bytes=0-9")
        assert answer.status == 200 and body(answer) == CONTENT
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["graphql", "smartcontract"])
def test_types_without_a_reader_are_refused_by_name(kind: str) -> None:
    with pytest.raises(BadRequest, match=f"file type '{kind}' is not supported"):
        parse_file_object({"type": kind, "url": "http://x"}, label="file")
