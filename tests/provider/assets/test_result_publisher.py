"""ResultPublisher without a chain that answers: the outputs are kept, the job's row waits with
the reason and a retry time; a job that failed publishes nothing. (The published path runs on
anvil in tests/chain/test_result_asset.py.)"""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from provider.assets.publication_store import PublicationState, PublicationStore
from provider.assets.results import MintingChain, ResultPublisher
from provider.chain.client import ChainClient
from tests.workflows.support import make_spec
from workflows.engines.base import JobState, ResultFile, StoredResult
from workflows.status import JobStatus

CHAIN = 8996
OWNER = "0x" + "Ab" * 20
OUTPUT = ResultFile(filename="outputs.tar", filesize=5, type="output", index=2)


class StoredResults:
    """The one engine call the publisher makes for a finished job: where its result is."""

    def __init__(self, results_dir: Path) -> None:
        self.results_dir = results_dir

    def result(self, job_id: str, index: int) -> StoredResult:
        assert index == OUTPUT.index
        return StoredResult.in_storage(self.results_dir, job_id, OUTPUT)


def _publisher(tmp_path: Path) -> tuple[ResultPublisher, PublicationStore, JobState]:
    spec = make_spec()
    (tmp_path / "results" / spec.job_id).mkdir(parents=True)
    (tmp_path / "results" / spec.job_id / "outputs.tar").write_bytes(b"tar!!")
    store = PublicationStore(tmp_path / "publications.sqlite")
    # Nothing listens on port 9: every chain call fails as an RPC that is down does.
    client = ChainClient("http://127.0.0.1:9", chain_id=CHAIN, timeout=2)
    publisher = ResultPublisher(
        store=store,
        chains={CHAIN: MintingChain(client, "0x" + "11" * 20)},
        account=Account.create(),
        public_url="http://provider.example",
        kept_dir=tmp_path / "published",
        retry=30,
    )
    publisher._engine = StoredResults(tmp_path / "results")  # type: ignore[assignment]
    publisher.request(spec.job_id, CHAIN, OWNER, {"name": "stats"})
    finished = JobState(spec=spec, status=JobStatus.FINISHED, date_finished=10, results=(OUTPUT,))
    return publisher, store, finished


def test_chain_failure_keeps_the_outputs_and_waits_with_the_reason(tmp_path: Path) -> None:
    publisher, store, job = _publisher(tmp_path)
    publisher.publish(job)

    row = store.get(job.spec.job_id)
    assert row is not None and row.state == PublicationState.WAITING
    assert row.note.startswith("not published yet: ") and row.note.endswith("tried again in 30 s")
    assert not row.nft  # nothing minted
    kept = publisher.kept_file(job.spec.job_id)
    assert kept.read_bytes() == b"tar!!"  # kept outside result storage already
    described = publisher.describe(job.spec.job_id)
    assert described is not None and described["state"] == "waiting" and not described["did"]

    # A second failure doubles the wait.
    publisher.publish(job)
    row = store.get(job.spec.job_id)
    assert row is not None and row.note.endswith("tried again in 60 s")


def test_failed_job_publishes_nothing(tmp_path: Path) -> None:
    publisher, store, job = _publisher(tmp_path)
    failed = JobState(spec=job.spec, status=JobStatus.ALGORITHM_FAILED, date_finished=10)
    publisher.publish(failed)
    row = store.get(job.spec.job_id)
    assert row is not None and row.state == PublicationState.SKIPPED
    assert row.note == "the job ended with 41 Failed to run algorithm: there is nothing to publish"
    assert not publisher.kept_file(job.spec.job_id).exists()


def test_kept_outputs_are_served_only_to_the_asset_minted_for_them(tmp_path: Path) -> None:
    publisher, store, job = _publisher(tmp_path)
    job_id = job.spec.job_id
    nft = "0x" + "22" * 20
    assert publisher.kept_for(job_id, nft) is None  # not minted yet
    store.minted(job_id, "did:op:" + "33" * 32, nft, "0x" + "44" * 20)
    assert publisher.kept_for(job_id, nft.upper().replace("0X", "0x")) == (
        publisher.kept_file(job_id)
    )
    assert publisher.kept_for(job_id, "0x" + "55" * 20) is None  # another asset
    assert publisher.kept_for("../" + job_id, nft) is None
    assert publisher.kept_for(7, nft) is None
