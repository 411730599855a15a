"""A small Python client for the c2d / Ocean Node compute API: the consumer's commands use it
(so it ships in the image, which has no devkit), and so do the demo, examples, bench and tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx
    from eth_account.datastructures import SignedMessage
    from eth_account.messages import SignableMessage

__all__ = ["C2DClient", "ProviderError", "Signer", "sign_request"]


class Signer(Protocol):
    """What the client needs of an account (an eth_account ``LocalAccount`` is one); eth_account
    is imported only to sign, so a command that signs nothing starts fast."""

    @property
    def address(self) -> str: ...

    def sign_message(self, signable_message: SignableMessage) -> SignedMessage: ...


class ProviderError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message


def sign_request(account: Signer, nonce: int | str, command: str) -> str:
    """Sign ``address + nonce + command`` the way Ocean clients do (EIP-191 over keccak256)."""
    from eth_account.messages import encode_defunct
    from eth_utils.crypto import keccak

    digest = keccak(text=f"{account.address}{nonce}{command}")
    signed = account.sign_message(encode_defunct(primitive=digest))
    return "0x" + bytes(signed.signature).hex()


class C2DClient:
    def __init__(self, base_url: str, account: Signer, *, timeout: float = 30.0) -> None:
        import httpx  # here: it takes longer to import than `c2d list` may take in all

        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.account = account

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return str(self._http.base_url).rstrip("/") + path

    def __enter__(self) -> C2DClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- discovery and auth ---------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return dict(self._json(self._http.get("/")))

    def environments(self) -> list[dict[str, Any]]:
        return list(self._json(self._http.get("/api/services/computeEnvironments")))

    def next_nonce(self) -> int:
        answer = self._json(
            self._http.get("/api/services/nonce", params={"userAddress": self.account.address})
        )
        return int(answer["nonce"]) + 1

    def login(self, valid_until: int | None = None) -> str:
        """Get an auth token; later requests send it instead of signatures."""
        body: dict[str, Any] = {"address": self.account.address, **self.signed("createAuthToken")}
        if valid_until is not None:
            body["validUntil"] = valid_until
        token = str(self._json(self._http.post("/api/services/auth/token", json=body))["token"])
        self._http.headers["Authorization"] = token
        return token

    def signed(self, command: str) -> dict[str, str]:
        nonce = self.next_nonce()
        return {"nonce": str(nonce), "signature": sign_request(self.account, nonce, command)}

    # --- jobs ------------------------------------------------------------------------------
    def free_compute(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {
            "consumerAddress": self.account.address,
            **self.signed("freeStartCompute"),
            **body,
        }
        jobs = self._json(self._http.post("/api/services/freeCompute", json=payload))
        return dict(jobs[0])

    def initialize_compute(self, body: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
        """initializeCompute: per DID input its order (a provider fee to order with, or an order
        still valid), and the price with where to pay it (``payment``)."""
        payload = {**body, "consumerAddress": self.account.address, "payment": payment}
        return dict(self._json(self._http.post("/api/services/initializeCompute", json=payload)))

    def paid_compute(self, body: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
        """computeStart of a paid job: ``body`` names each DID input's order (transferTxId),
        ``payment`` the chain and fee token the escrow was funded in."""
        payload = {
            **body,
            "consumerAddress": self.account.address,
            **self.signed("startCompute"),
            "payment": payment,
        }
        jobs = self._json(self._http.post("/api/services/compute", json=payload))
        return dict(jobs[0])

    def status(self, job_id: str) -> dict[str, Any]:
        params = {"consumerAddress": self.account.address, "jobId": job_id}
        jobs = self._json(self._http.get("/api/services/compute", params=params))
        return self._listed(jobs, job_id)

    def status_list(self) -> list[dict[str, Any]]:
        """Every job of this client's address (unsigned: status, file names and sizes)."""
        params = {"consumerAddress": self.account.address}
        return list(self._json(self._http.get("/api/services/compute", params=params)))

    def stop(self, job_id: str) -> dict[str, Any]:
        params = {
            "consumerAddress": self.account.address,
            "jobId": job_id,
            **self.signed("stopCompute"),
        }
        return self._listed(
            self._json(self._http.put("/api/services/compute", params=params)), job_id
        )

    def result(self, job_id: str, index: int) -> bytes:
        params = {
            "consumerAddress": self.account.address,
            "jobId": job_id,
            "index": str(index),
            **self.signed("getComputeResult"),
        }
        response = self._http.get("/api/services/computeResult", params=params)
        self._check(response)
        return response.content

    def logs(self, job_id: str) -> Iterator[bytes]:
        params = {
            "consumerAddress": self.account.address,
            "jobId": job_id,
            **self.signed("getComputeStreamableLogs"),
        }
        with self._http.stream(
            "GET", "/api/services/computeStreamableLogs", params=params, timeout=None
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            yield from response.iter_bytes()

    # --- plumbing --------------------------------------------------------------------------
    def _listed(self, jobs: list[dict[str, Any]], job_id: str) -> dict[str, Any]:
        """The job of a status or stop answer; like Ocean Node, the provider answers ``[]``
        (200) for a job it does not know or that this address may not see."""
        if not jobs:
            raise ProviderError(200, f"no job {job_id} for {self.account.address}")
        return dict(jobs[0])

    def _json(self, response: httpx.Response) -> Any:
        self._check(response)
        return response.json()

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            message = str(response.json().get("error", response.text))
        except ValueError:
            message = response.text
        raise ProviderError(response.status_code, message)
