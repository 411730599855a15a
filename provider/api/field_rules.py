"""Rules across the fields of a start body: Ocean Node's metadata limit, and what ocean.js
sends twice (inside ``payment`` and beside it), which must agree."""

from __future__ import annotations

import json
from typing import Any

from provider.api.validation import out_of_range, printable

__all__ = ["MAX_METADATA", "check_payment", "metadata_size", "same_value"]

# Ocean Node refuses a job whose metadata, as compact JSON text, is longer than this.
MAX_METADATA = 1024


def metadata_size(metadata: dict[str, Any] | None) -> int:
    """Its length as JavaScript's ``JSON.stringify(metadata).length`` counts it (UTF-16 units)."""
    if not metadata:
        return 0
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-16-le")) // 2


_PAYMENT_FIELDS = ("chainId", "token", "maxJobDuration", "resources")


def check_payment(payment: dict[str, Any] | None, chain_id: int | None) -> dict[str, Any]:
    """``payment`` as ocean.js sends it ({chainId, token, maxJobDuration, resources}): any other
    field, or a chainId other than the body's, is refused."""
    payment = payment or {}
    unknown = sorted(str(name) for name in payment if name not in _PAYMENT_FIELDS)
    if unknown:
        raise out_of_range(
            f"unknown field {printable(unknown[0])!r}; payment takes {', '.join(_PAYMENT_FIELDS)}",
            "payment",
        )
    if chain_id is not None and payment.get("chainId") not in (None, chain_id, str(chain_id)):
        raise out_of_range(f"{payment['chainId']!r} differs from chainId {chain_id}", "payment")
    resources = payment.get("resources")
    if resources is not None and not isinstance(resources, list):
        raise out_of_range("must be a list of {id, amount}", "payment.resources")
    return payment


def same_value(name: str, top: Any, in_payment: Any) -> Any:
    """A value given at the top and again inside ``payment`` (ocean.js does): one of them, or
    both the same."""
    if top is not None and top != in_payment:
        raise out_of_range(f"differs from payment.{name}; give one value", name)
    return in_payment
