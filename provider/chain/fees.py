"""Provider fees: the data a fee carries, the message ``startOrder`` checks, and its signature.

Pure: no chain access. The ERC20 template recovers the signer of
keccak256(providerData, feeAddress, feeToken, amount, validUntil) (EIP-191 over the 32 bytes)
and requires it to be the fee address: so the fee address is this provider's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError
from web3 import Web3

__all__ = [
    "FeeData",
    "ProviderFee",
    "encode_fee_data",
    "fee_message_hash",
    "parse_fee_data",
    "recover_fee_signer",
    "sign_provider_fee",
]


@dataclass(frozen=True)
class FeeData:
    """What this provider writes into providerData: the environment and the order it is for."""

    environment: str
    datatoken: str
    service_id: str
    timestamp: int


@dataclass(frozen=True)
class ProviderFee:
    address: str
    token: str
    amount: int
    provider_data: bytes
    v: int
    r: bytes
    s: bytes
    valid_until: int

    def to_wire(self) -> dict[str, Any]:
        """The ``providerFee`` object of initializeCompute, as ocean.js passes it to startOrder."""
        return {
            "providerFeeAddress": self.address,
            "providerFeeToken": self.token,
            "providerFeeAmount": str(self.amount),
            "providerData": "0x" + self.provider_data.hex(),
            "v": self.v,
            "r": "0x" + self.r.hex(),
            "s": "0x" + self.s.hex(),
            "validUntil": self.valid_until,
        }


def encode_fee_data(data: FeeData) -> bytes:
    body = {
        "environment": data.environment,
        "dt": data.datatoken,
        "id": data.service_id,
        "timestamp": data.timestamp,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def parse_fee_data(raw: bytes) -> FeeData | None:
    """The FeeData in ``raw`` providerData, or None when it is not this provider's format."""
    try:
        body = json.loads(raw.decode())
        return FeeData(
            environment=str(body["environment"]),
            datatoken=str(body["dt"]),
            service_id=str(body["id"]),
            timestamp=int(body["timestamp"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def fee_message_hash(
    provider_data: bytes, address: str, token: str, amount: int, valid_until: int
) -> bytes:
    return bytes(
        Web3.solidity_keccak(
            ["bytes", "address", "address", "uint256", "uint256"],
            [provider_data, address, token, amount, valid_until],
        )
    )


def sign_provider_fee(
    account: LocalAccount, data: FeeData, *, token: str, amount: int, valid_until: int
) -> ProviderFee:
    provider_data = encode_fee_data(data)
    digest = fee_message_hash(provider_data, account.address, token, amount, valid_until)
    signed = account.sign_message(encode_defunct(primitive=digest))
    return ProviderFee(
        address=account.address,
        token=Web3.to_checksum_address(token),
        amount=amount,
        provider_data=provider_data,
        v=int(signed.v),
        r=int(signed.r).to_bytes(32, "big"),
        s=int(signed.s).to_bytes(32, "big"),
        valid_until=valid_until,
    )


def recover_fee_signer(fee: ProviderFee) -> str | None:
    """The address that signed ``fee``, or None when the signature is unusable."""
    digest = fee_message_hash(
        fee.provider_data, fee.address, fee.token, fee.amount, fee.valid_until
    )
    vrs = (fee.v, int.from_bytes(fee.r, "big"), int.from_bytes(fee.s, "big"))
    try:
        signer: str = Account.recover_message(encode_defunct(primitive=digest), vrs=vrs)
    except (BadSignature, ValidationError, ValueError, TypeError):
        return None
    return signer
