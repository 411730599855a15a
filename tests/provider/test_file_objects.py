"""File objects of every Ocean storage type, and userdata, as admission turns them into the spec."""

from __future__ import annotations

import pytest

from provider.errors import BadRequest
from provider.jobs.file_objects import parse_file_object, with_userdata

GATEWAYS = {"ipfs": "https://gw.example", "arweave": "https://ar.example"}


def test_an_ipfs_file_without_a_configured_gateway_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_file_object({"type": "ipfs", "hash": "bafy123"}, label="datasets[0].fileObject")
    assert caught.value.message == (
        "datasets[0].fileObject: no ipfs gateway is configured on this provider"
    )


def test_gateway_files_carry_the_operators_gateway() -> None:
    ipfs = parse_file_object({"type": "ipfs", "hash": "bafy123"}, label="f", gateways=GATEWAYS)
    arweave = parse_file_object(
        {"type": "arweave", "transactionId": "tx_1", "encryptedBy": "0x1", "encryptMethod": "AES"},
        label="f",
        gateways=GATEWAYS,
    )
    assert (ipfs.gateway, ipfs.hash) == ("https://gw.example", "bafy123")
    assert (arweave.gateway, arweave.transaction_id) == ("https://ar.example", "tx_1")


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_file_object({"type": "ftp", "url": "ftp://h/x", "port": 21}, label="f")
    assert caught.value.message == "f: port: Extra inputs are not permitted"


def test_userdata_goes_into_the_query_of_url_files_only() -> None:
    url = parse_file_object({"url": "https://h.example/d.csv?v=1"}, label="f")
    ftp = parse_file_object({"type": "ftp", "url": "ftp://h/x"}, label="f")
    assert with_userdata(url, {"a b": "c&d", "n": 2}).url == (
        "https://h.example/d.csv?v=1&a+b=c%26d&n=2"
    )
    assert with_userdata(ftp, {"a": 1}) == ftp
    assert with_userdata(url, None) == url


def test_an_ftp_url_that_would_split_the_command_is_refused() -> None:
    # %0d%0a would end the RETR line and start a second command on the consumer's behalf.
    with pytest.raises(BadRequest) as caught:
        parse_file_object({"type": "ftp", "url": "ftp://h/x%0d%0aDELE%20y"}, label="f")
    assert caught.value.message == "f: url: url must not contain control characters"
