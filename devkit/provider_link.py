"""What a publisher asks of the provider over HTTP: its address, and encryption for it."""

from __future__ import annotations

import httpx
from eth_account.signers.local import LocalAccount

from devkit.client import sign_request
from provider.auth.signature import Command
from provider.errors import BadRequest

__all__ = ["ProviderLink"]


class ProviderLink:
    def __init__(self, url: str, account: LocalAccount, *, chain_id: int) -> None:
        self.url = url.rstrip("/")
        self._account = account
        self._chain_id = chain_id
        self._http = httpx.Client(base_url=self.url, timeout=30)

    def close(self) -> None:
        self._http.close()

    @property
    def address(self) -> str:
        return str(self._checked(self._http.get("/")).json()["providerAddress"])

    def encrypt(self, data: bytes) -> str:
        """``data`` encrypted for the provider (``0x`` + hex), signed as command ``encrypt``."""
        answer = self._checked(
            self._http.get("/api/services/nonce", params={"userAddress": self._account.address})
        )
        nonce = int(answer.json()["nonce"]) + 1
        params = {
            "chainId": str(self._chain_id),
            "consumerAddress": self._account.address,
            "nonce": str(nonce),
            "signature": sign_request(self._account, nonce, Command.ENCRYPT),
        }
        response = self._http.post(
            "/api/services/encrypt",
            params=params,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return self._checked(response).text.strip()

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise BadRequest(f"provider answered {response.status_code}: {response.text[:500]}")
        return response
