"""initialize and download for ``access`` services, as Ocean Node serves them to ocean.js.

The chain is read and the origin opened in the caller's thread (the routes are sync, so FastAPI
runs them off the event loop); the body is streamed from a generator Starlette also iterates in
a thread pool. The file's address never leaves this module: refusals are worded without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from provider.access.opening import Opened, open_file, open_kept
from provider.access.ranges import ByteRange
from provider.assets.ddo import Ddo, Service
from provider.assets.policy import check_credentials
from provider.assets.resolver import AssetResolver, check_usable
from provider.assets.results import KEPT_FILE_TYPE, KeptFiles
from provider.auth.authenticate import Authenticator
from provider.auth.nonces import NonceStore
from provider.chain.client import ChainClient
from provider.chain.fees import FeeData, sign_provider_fee
from provider.chain.order_reader import read_order
from provider.chain.orders import OrderExpectation, check_order
from provider.errors import BadRequest, ServiceUnavailable
from provider.jobs.file_objects import parse_file_object, with_userdata
from steps.readers import SourcePolicy
from workflows.spec import FileObject

__all__ = ["ACCESS_ENVIRONMENT", "DOWNLOAD_COMMAND", "AccessService", "Download"]

# The command ocean.js signs for a download (its ProviderCommands.DOWNLOAD).
DOWNLOAD_COMMAND = "download"
# The providerData "environment" of an access service's provider fee: no compute environment.
ACCESS_ENVIRONMENT = ""


@dataclass(frozen=True)
class Download:
    """An opened file: its first bytes already read (so an origin that is down is refused
    before any header is sent), the rest still streaming (206 with its headers for a range)."""

    filename: str
    content_type: str
    opened: Opened


@dataclass(frozen=True)
class _Target:
    ddo: Ddo
    service: Service
    index: int


class AccessService:
    def __init__(
        self,
        *,
        resolver: AssetResolver,
        clients: Mapping[int, ChainClient],
        account: LocalAccount,
        authenticator: Authenticator,
        nonces: NonceStore,
        policy: SourcePolicy,
        gateways: Mapping[str, str] | None = None,
        confirmations: Mapping[int, int] | None = None,
        clock: Callable[[], float] = time.time,
        fee_validity: int = 3600,
        timeout: float = 60,
        max_bytes: int = 10 * 2**30,
        kept: KeptFiles | None = None,
    ) -> None:
        self._resolver = resolver
        self._clients = clients
        self._account = account
        self._authenticator = authenticator
        self._nonces = nonces
        self._policy = policy
        self._gateways = dict(gateways or {})
        self._confirmations = dict(confirmations or {})
        self._clock = clock
        self._fee_validity = fee_validity
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._kept = kept

    def initialize(
        self, did: str, service_id: str, consumer: str, file_index: int, valid_until: int | None
    ) -> dict[str, Any]:
        """What ocean.js orders with: the datatoken, the consumer's nonce, a signed fee."""
        target = self._target(did, service_id, consumer)
        self._file(target, file_index)
        now = int(self._clock())
        until = now + self._fee_validity
        if valid_until is not None:
            if valid_until <= now:
                raise BadRequest(f"validUntil {valid_until} is in the past")
            until = min(valid_until, until)
        token = target.service.datatoken_address
        fee = sign_provider_fee(
            self._account,
            FeeData(ACCESS_ENVIRONMENT, token, target.service.id, now),
            token=token,
            amount=0,
            valid_until=until,
        )
        return {
            "datatoken": token,
            "nonce": self._nonces.current(consumer),
            "providerFee": fee.to_wire(),
        }

    def download(
        self,
        *,
        did: str,
        service_id: str,
        consumer: str,
        file_index: int,
        transfer_tx: str,
        nonce: str | None,
        signature: str | None,
        token: str | None,
        userdata: dict[str, Any] | None = None,
        byte_range: ByteRange | None = None,
    ) -> Download:
        """The ordered file, ``userdata`` added to a url file's query as Ocean Node does."""
        self._authenticator.authenticate(
            consumer_address=consumer,
            command=DOWNLOAD_COMMAND,
            nonce=nonce,
            signature=signature,
            token=token,
        )
        target = self._target(did, service_id, consumer)
        found = self._file(target, file_index)
        self._check_order(target, consumer, transfer_tx)
        if isinstance(found, Path):
            return Download(f"file{file_index}", "application/x-tar", open_kept(found, byte_range))
        file = with_userdata(found, userdata)
        opened = open_file(
            file,
            file_index,
            byte_range,
            policy=self._policy,
            timeout=self._timeout,
            max_bytes=self._max_bytes,
        )
        return Download(f"file{file_index}", "application/octet-stream", opened)

    def _target(self, did: str, service_id: str, consumer: str) -> _Target:
        ddo = check_usable(self._resolver.resolve(did))
        for index, service in enumerate(ddo.services):
            if service.id == service_id:
                if service.type != "access":
                    raise BadRequest(
                        f"service {service_id} of {did} is a {service.type} service, not access"
                    )
                if not service.datatoken_address:
                    raise BadRequest(f"service {service_id} of {did} has no datatoken")
                check_credentials(ddo, consumer, label="access", service=service)
                return _Target(ddo, service, index)
        raise BadRequest(f"{did} has no service {service_id}")

    def _check_order(self, target: _Target, consumer: str, tx: str) -> None:
        client = self._clients.get(target.ddo.chain_id)
        if client is None:
            raise ServiceUnavailable(
                f"this provider serves no chain {target.ddo.chain_id}: no order can be verified"
            )
        token = target.service.datatoken_address
        depth = self._confirmations.get(target.ddo.chain_id, 1)
        facts = read_order(client, tx, token, label="download", confirmations=depth)
        check_order(
            facts,
            OrderExpectation(
                label="download",
                datatoken=token,
                service_index=target.index,
                service_id=target.service.id,
                service_timeout=target.service.timeout,
                caller=consumer,
                provider=self._account.address,
                environment=ACCESS_ENVIRONMENT,
                now=int(self._clock()),
            ),
        )

    def _file(self, target: _Target, index: int) -> FileObject | Path:
        files = target.service.plain_files()
        label = f"service {target.service.id} of {target.ddo.id}"
        if files is None:
            raise BadRequest(f"{label}: its files are not encrypted for this provider")
        if not 0 <= index < len(files):
            raise BadRequest(f"fileIndex {index} is out of range: {label} has {len(files)} file(s)")
        if files[index].get("type") == KEPT_FILE_TYPE:
            kept = (
                self._kept(files[index].get("jobId"), target.ddo.nft_address)
                if self._kept
                else None
            )
            if kept is None:
                raise BadRequest(f"{label}: file {index} names no outputs this asset may serve")
            return kept
        return parse_file_object(
            files[index], label=f"{label}: file {index}", gateways=self._gateways
        )
