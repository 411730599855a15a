"""Ocean Node's ``POST /api/services/decrypt``: the plain DDO, as text, for an allowed indexer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import Field, field_validator, model_validator

from provider.access.decrypt import DecryptRequest
from provider.api.deps import ServicesDep
from provider.api.schemas import ADDRESS_PATTERN, ChainId, Nonce
from provider.api.validation import out_of_range
from provider.api.wire import Wire
from provider.assets.onchain import MetadataEvent
from provider.auth.authenticate import parse_nonce

__all__ = ["router"]

router = APIRouter(prefix="/api/services")


class DecryptDdoBody(Wire):
    decrypter_address: str = Field(alias="decrypterAddress", pattern=ADDRESS_PATTERN)
    chain_id: ChainId = Field(alias="chainId")
    nonce: Nonce
    signature: str = Field(max_length=200)
    data_nft_address: str = Field(alias="dataNftAddress", pattern=ADDRESS_PATTERN)
    # The document as the NFT's metadata event in this transaction carries it, or as sent.
    # Empty text is no transaction, as on Ocean Node.
    transaction_id: str | None = Field(
        default=None, alias="transactionId", pattern=r"^(0x[0-9a-fA-F]{64})?$"
    )
    # The request body's size cap (C2D_MAX_REQUEST_BYTES) bounds it.
    encrypted_document: str | None = Field(
        default=None, alias="encryptedDocument", pattern=r"^0x([0-9a-fA-F]{2})*$"
    )
    flags: int | None = Field(default=None, ge=0, le=3)
    document_hash: str | None = Field(
        default=None, alias="documentHash", pattern=r"^(0x)?[0-9a-fA-F]{64}$"
    )

    @field_validator("transaction_id")
    @classmethod
    def _no_transaction(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _document_given(self) -> DecryptDdoBody:
        document = {
            "encryptedDocument": self.encrypted_document,
            "flags": self.flags,
            "documentHash": self.document_hash,
        }
        given = [name for name, value in document.items() if value is not None]
        if self.transaction_id is not None:
            if given:
                raise out_of_range(
                    f"transactionId and {', '.join(given)}: send either the transaction that"
                    " set the metadata or its encryptedDocument, flags and documentHash"
                )
            return self
        missing = [name for name in document if name not in given]
        if missing:
            raise out_of_range(
                f"missing {', '.join(missing)} (or send transactionId instead of all three)"
            )
        return self

    def request(self) -> DecryptRequest:
        return DecryptRequest(
            decrypter=self.decrypter_address,
            chain_id=self.chain_id,
            nonce=parse_nonce(self.nonce),
            signature=self.signature,
            nft_address=self.data_nft_address,
            transaction_id=self.transaction_id,
            document=self._document(),
        )

    def _document(self) -> MetadataEvent | None:
        if self.transaction_id is not None:
            return None
        # The validator above guarantees all three.
        assert self.encrypted_document is not None and self.document_hash is not None
        assert self.flags is not None
        return MetadataEvent(
            flags=bytes([self.flags]),
            data=bytes.fromhex(self.encrypted_document[2:]),
            metadata_hash=bytes.fromhex(self.document_hash.removeprefix("0x")),
        )


@router.post("/decrypt", response_class=PlainTextResponse)
def decrypt(body: DecryptDdoBody, services: ServicesDep) -> Any:
    return PlainTextResponse(services.decrypter.decrypt(body.request()))
