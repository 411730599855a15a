"""Whether an RPC endpoint answers, and with which chain id (no web3: one JSON-RPC call)."""

from __future__ import annotations

import httpx

__all__ = ["rpc_answers"]


def rpc_answers(rpc: str, *, timeout: float = 1.0) -> int | None:
    """The chain id an RPC endpoint answers with, or None when nothing answers there."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        answer = httpx.post(rpc, json=body, timeout=timeout).json()
        return int(answer["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
