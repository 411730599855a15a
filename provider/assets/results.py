"""A job's outputs published as an asset of their own, when its request asked for it.

When a job that asked (``publishResults``) ends, its ``outputs.tar`` is copied to the kept
folder (outside result storage: storageExpiry does not remove it), then the provider mints a
data NFT + datatoken on the job's payment chain, sets a DDO whose services (access, compute or
both, as asked; one datatoken) serve that kept file (encrypted for this provider), mints one
datatoken to the job's owner and gives them the NFT. The provider pays the gas. A chain
failure leaves the row waiting: the sweep tries again with a growing wait, across restarts
(the rows are in SQLite). A compute job on the new asset fetches the kept file from this
provider (provider/assets/kept_inputs.py).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from web3.exceptions import Web3Exception

from provider.assets.encryption import encrypt
from provider.assets.minting import AssetDraft, mint_datatokens, publish_asset, transfer_nft
from provider.assets.publication_store import Publication, PublicationState, PublicationStore
from provider.chain.backoff import Backoff
from provider.chain.client import ChainClient, ChainError
from workflows.engines.base import Engine, JobNotFound, JobState, RemoteResult
from workflows.jobfiles import RefusedJobFile
from workflows.status import JobStatus, status_text

__all__ = ["KEPT_FILE_TYPE", "KeptFiles", "MintingChain", "ResultPublisher"]

_log = logging.getLogger("c2d.assets")

# The file object of a published result, as the DDO holds it (encrypted): only this provider
# knows what it names, a file in its kept folder.
KEPT_FILE_TYPE = "c2dResult"
# (the job id a c2dResult file names, the asset's NFT) → the kept outputs, or None when that
# asset was not minted for that job (ResultPublisher.kept_for).
KeptFiles = Callable[[object, str], Path | None]
_CHUNK = 1024 * 1024
_ONE_DATATOKEN = 10**18


@dataclass(frozen=True)
class MintingChain:
    client: ChainClient
    factory: str  # the chain's ERC721Factory


class ResultPublisher:
    def __init__(
        self,
        *,
        store: PublicationStore,
        chains: Mapping[int, MintingChain],
        account: LocalAccount,
        public_url: str,
        kept_dir: Path,
        clock: Callable[[], float] = time.time,
        retry: float = 30.0,
        max_retry: float = 900.0,
        max_bytes: int = 10 * 2**30,
    ) -> None:
        self._store = store
        self._chains = chains
        self._account = account
        self._public_url = public_url.rstrip("/")
        self._kept_dir = kept_dir
        self._retry = retry
        self._backoff = Backoff(clock, first=retry, ceiling=max_retry)
        self._max_bytes = max_bytes
        self._engine: Engine | None = None
        self._busy_lock = threading.Lock()
        self._busy: set[str] = set()

    def request(self, job_id: str, chain_id: int, owner: str, metadata: dict[str, Any]) -> None:
        """Record, before the job is submitted, that its outputs are to become an asset."""
        self._store.add(job_id, chain_id, owner, metadata)

    def abandon(self, job_id: str) -> None:
        self._store.delete(job_id)

    def kept_file(self, job_id: str) -> Path:
        return self._kept_dir / f"{job_id}.tar"

    def kept_for(self, job_id: object, nft: str) -> Path | None:
        """The kept outputs a ``c2dResult`` file names, if ``nft`` is the asset minted for them.

        Anyone may encrypt a file object for this provider, so the job id alone proves nothing:
        only the asset this provider minted for that job serves its outputs.
        """
        if not isinstance(job_id, str) or not re.fullmatch(r"[0-9a-f]{32}", job_id):
            return None
        row = self._store.get(job_id)
        if row is None or not row.nft or row.nft.lower() != nft.lower():
            return None
        return self.kept_file(job_id)

    def describe(self, job_id: str) -> dict[str, Any] | None:
        row = self._store.get(job_id)
        if row is None:
            return None
        return {
            "state": row.state.value,
            "did": row.did or None,
            "chainId": row.chain_id,
            "nftAddress": row.nft or None,
            "datatokenAddress": row.datatoken or None,
            "transferTx": row.tx or None,
            "note": row.note,
        }

    def watch(self, engine: Engine) -> threading.Thread:
        """Publish as jobs end (a finish listener), and sweep now and every ``retry`` seconds
        for rows left waiting by a failure or a stopped provider."""
        self._engine = engine
        engine.on_finished(self.publish)
        thread = threading.Thread(target=self._sweep_forever, name="publication", daemon=True)
        thread.start()
        return thread

    def publish(self, job: JobState) -> None:
        """Engine finish listener."""
        row = self._store.get(job.spec.job_id)
        if row is not None and row.state == PublicationState.WAITING:
            self._publish(row, job)

    def sweep(self) -> None:
        assert self._engine is not None
        for row in self._store.waiting():
            try:
                job = self._engine.get(row.job_id)
            except JobNotFound:
                continue  # a start between its row and its submit, or one being abandoned
            if job.date_finished is not None and self._backoff.due(row.job_id):
                self._publish(row, job)

    def _sweep_forever(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:
                _log.exception("publication sweep failed; next try in %s s", self._retry)
            time.sleep(self._retry)

    def _publish(self, row: Publication, job: JobState) -> None:
        with self._busy_lock:
            if row.job_id in self._busy:
                return  # the listener and a sweep met
            self._busy.add(row.job_id)
        try:
            current = self._store.get(row.job_id)
            if current is not None and current.state == PublicationState.WAITING:
                self._publish_once(current, job)
        finally:
            with self._busy_lock:
                self._busy.discard(row.job_id)

    def _publish_once(self, row: Publication, job: JobState) -> None:
        if job.status != JobStatus.FINISHED:
            text = status_text(job.status).strip()
            note = f"the job ended with {int(job.status)} {text}: there is nothing to publish"
            self._store.finish(row.job_id, PublicationState.SKIPPED, note=note)
            return
        chain = self._chains.get(row.chain_id)
        if chain is None:
            self._store.note(row.job_id, f"chain {row.chain_id} is no longer served; it waits")
            return
        try:
            self._keep_outputs(job)
        except (JobNotFound, FileNotFoundError, RefusedJobFile, _NoOutputs) as error:
            note = f"the job's outputs cannot be kept: {error}"
            self._store.finish(row.job_id, PublicationState.SKIPPED, note=note)
            return
        except OSError as error:  # a full disk, say: worth another try
            self._wait(row.job_id, f"the outputs could not be copied ({error.strerror})")
            return
        try:
            if not row.nft:
                row = self._mint(row, job, chain)
            mint_datatokens(chain.client, self._account, row.datatoken, row.owner, _ONE_DATATOKEN)
            tx = transfer_nft(chain.client, self._account, row.nft, row.owner)
        except (ChainError, Web3Exception, OSError) as error:
            self._wait(row.job_id, str(error))
            return
        self._backoff.succeeded(row.job_id)
        self._store.finish(row.job_id, PublicationState.PUBLISHED, tx=tx)
        _log.info("job %s: outputs published as %s", row.job_id, row.did)

    def _wait(self, job_id: str, why: str) -> None:
        wait = self._backoff.failed(job_id)
        note = f"not published yet: {why}; tried again in {wait:.0f} s"
        self._store.note(job_id, note)
        _log.warning("job %s: %s", job_id, note)

    def _mint(self, row: Publication, job: JobState, chain: MintingChain) -> Publication:
        public_key = PrivateKey(bytes(self._account.key)).public_key.to_bytes()
        published = publish_asset(
            chain.client,
            self._account,
            _draft(row, job),
            factory=chain.factory,
            chain_id=row.chain_id,
            provider_url=self._public_url,
            provider_address=self._account.address,
            encrypt=lambda data: "0x" + encrypt(public_key, data).hex(),
        )
        self._store.minted(row.job_id, published.did, published.nft, published.datatoken)
        current = self._store.get(row.job_id)
        assert current is not None
        return current

    def _keep_outputs(self, job: JobState) -> None:
        """Copy outputs.tar to the kept folder (once; a copy is atomic by its rename)."""
        target = self.kept_file(job.spec.job_id)
        if target.exists():
            return
        output = next((r for r in job.results if r.type == "output"), None)
        if output is None:
            raise _NoOutputs("the job stored no outputs.tar")
        assert self._engine is not None
        self._kept_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        stored = self._engine.result(job.spec.job_id, output.index)
        if isinstance(stored, RemoteResult):
            raise _NoOutputs("outputs in a cluster's result store are not published (local only)")
        # open(), not source.open(): behind the privilege split the file comes as a descriptor.
        with stored.open() as source:
            if source.info.st_size > self._max_bytes:
                raise _NoOutputs(f"outputs.tar is larger than {self._max_bytes} bytes")
            handle, temporary = tempfile.mkstemp(dir=self._kept_dir, suffix=".part")
            try:
                with os.fdopen(handle, "wb") as copy:
                    offset = 0
                    while offset < source.info.st_size:
                        chunk = source.read(offset, min(_CHUNK, source.info.st_size - offset))
                        if not chunk:
                            break
                        copy.write(chunk)
                        offset += len(chunk)
                    copy.flush()
                    os.fsync(copy.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise


class _NoOutputs(Exception):
    pass


def _draft(row: Publication, job: JobState) -> AssetDraft:
    spec = job.spec
    given = row.metadata
    provenance = {
        "jobId": spec.job_id,
        "inputDIDs": spec.input_dids,
        "algorithmDID": spec.algorithm.did or "",
        "algorithmChecksum": spec.algorithm.container.checksum,
        "algorithmImage": spec.algorithm.container.reference,
    }
    extra: dict[str, Any] = {"additionalInformation": {"c2dProvenance": provenance}}
    if given.get("tags"):
        extra["tags"] = given["tags"]
    # Rows written before services could be asked for meant one access service.
    first, *more = given.get("services") or ["access"]
    compute = None
    if "compute" in (first, *more):
        # Private by default, as every compute service here: with no policy given, only the
        # algorithms the new owner publishes run on it.
        compute = given.get("compute") or {"publisherTrustedAlgorithmPublishers": [row.owner]}
    return AssetDraft(
        name=given["name"],
        type="dataset",
        files=[{"type": KEPT_FILE_TYPE, "jobId": spec.job_id}],
        service_type=first,
        more_service_types=tuple(more),
        compute=compute,
        description=given.get("description") or f"the outputs of compute job {spec.job_id}",
        author=given.get("author") or row.owner,
        license=given.get("license") or "No License Specified",
        extra_metadata=extra,
    )
