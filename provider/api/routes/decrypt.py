"""Ocean Node's ``POST /api/services/decrypt``: the plain DDO, as text, for an allowed indexer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import Field, model_validator

from provider.access.decrypt import DecryptRequest
from provider.api.deps import ServicesDep
from provider.api.schemas import ADDRESS_PATTERN, ChainId, Nonce
from provider.api.validation import out_of_range
from provider.api.wire import Wire
from provider.auth.authenticate import parse_nonce

__all__ = ["router"]

router = APIRouter(prefix="/api/services")


class DecryptDdoBody(Wire):
    decrypter_address: str = Field(alias="decrypterAddress", pattern=ADDRESS_PATTERN)
    chain_id: ChainId = Field(alias="chainId")
    nonce: Nonce
    signature: str = Field(max_length=200)
    data_nft_address: str = Field(alias="dataNftAddress", pattern=ADDRESS_PATTERN)
    # Ocean Node may read the document from this metadata transaction; c2d refuses it (below).
    transaction_id: str | None = Field(default=None, alias="transactionId", max_length=80)
    # The request body's size cap (C2D_MAX_REQUEST_BYTES) bounds it.
    encrypted_document: str | None = Field(
        default=None, alias="encryptedDocument", pattern=r"^0x([0-9a-fA-F]{2})*$"
    )
    flags: int | None = Field(default=None, ge=0, le=3)
    document_hash: str | None = Field(
        default=None, alias="documentHash", pattern=r"^(0x)?[0-9a-fA-F]{64}$"
    )

    @model_validator(mode="after")
    def _document_given(self) -> DecryptDdoBody:
        if self.transaction_id:
            raise out_of_range(
                "transactionId is not supported: send the metadata event's encryptedDocument,"
                " flags and documentHash instead"
            )
        missing = [
            name
            for name, value in (
                ("encryptedDocument", self.encrypted_document),
                ("flags", self.flags),
                ("documentHash", self.document_hash),
            )
            if value is None
        ]
        if missing:
            raise out_of_range(f"missing {', '.join(missing)}")
        return self

    def request(self) -> DecryptRequest:
        # The validator above guarantees all three.
        assert self.encrypted_document is not None and self.document_hash is not None
        assert self.flags is not None
        return DecryptRequest(
            decrypter=self.decrypter_address,
            chain_id=self.chain_id,
            nonce=parse_nonce(self.nonce),
            signature=self.signature,
            nft_address=self.data_nft_address,
            encrypted_document=bytes.fromhex(self.encrypted_document[2:]),
            flags=self.flags,
            document_hash=bytes.fromhex(self.document_hash.removeprefix("0x")),
        )


@router.post("/decrypt", response_class=PlainTextResponse)
def decrypt(body: DecryptDdoBody, services: ServicesDep) -> Any:
    return PlainTextResponse(services.decrypter.decrypt(body.request()))
