"""The consumer's ``userdata`` of an access request, and the ``policyServer`` field refused."""

from __future__ import annotations

import json
from typing import Any

from provider.errors import BadRequest

__all__ = ["NO_POLICY_SERVER", "parse_userdata"]

# Ocean Node hands ``policyServer`` to an external policy server its operator runs (its
# POLICY_SERVER_URL); c2d has none to hand it to, so a request relying on one is refused.
NO_POLICY_SERVER = (
    "policyServer: this provider runs no policy server (Ocean Node forwards this field to an"
    " external one its operator configures); send the request without it"
)


def parse_userdata(text: str | None) -> dict[str, Any] | None:
    """ocean.js sends ``userdata`` as a JSON object in the query string."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise BadRequest("userdata: not JSON (expected an object)") from None
    if not isinstance(value, dict):
        raise BadRequest("userdata: expected a JSON object")
    return value
