"""A published result as a job's input: the url file admission writes, and who it opens for."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.assets.kept_inputs import KEPT_INPUT_HEADER, KeptInputs
from provider.errors import BadRequest, Forbidden

KEPT = "a" * 32  # the job whose outputs were published
READER = "b" * 32  # the job reading them
NFT = "0x" + "12" * 20


def _kept_inputs(running: set[str], secret: bytes = b"\x01" * 32) -> KeptInputs:
    return KeptInputs(
        kept_for=lambda job, nft: Path(f"/kept/{job}.tar") if (job, nft) == (KEPT, NFT) else None,
        kept_file=lambda job: Path(f"/kept/{job}.tar"),
        running=lambda job: job in running,
        secret=secret,
        public_url="https://provider.example/",
    )


def test_a_running_reader_opens_the_kept_outputs_its_header_names() -> None:
    kept = _kept_inputs({READER})
    file = kept.input_file({"type": "c2dResult", "jobId": KEPT}, NFT, READER, label="d")
    assert file.type == "url"
    assert file.url == f"https://provider.example/api/services/keptInput/{KEPT}"
    assert kept.open(KEPT, file.headers[KEPT_INPUT_HEADER]) == Path(f"/kept/{KEPT}.tar")


def test_the_header_opens_nothing_else_nor_after_its_job() -> None:
    kept = _kept_inputs({READER, "c" * 32})
    header = kept.input_file({"jobId": KEPT}, NFT, READER, label="d").headers[KEPT_INPUT_HEADER]
    other_job = "c" * 32 + header[32:]  # another running job's id with this job's MAC
    bad = [(KEPT, None), (KEPT, "x.y"), (KEPT, f"{READER}.{'é' * 64}"), (KEPT, f"{READER}.")]
    for job, given in [("d" * 32, header), (KEPT, other_job), *bad]:
        with pytest.raises(Forbidden, match="opens no kept outputs now"):
            kept.open(job, given)
    made_elsewhere = _kept_inputs({READER}, secret=b"\x02" * 32)
    with pytest.raises(Forbidden):
        made_elsewhere.open(KEPT, header)
    with pytest.raises(Forbidden, match=f"job {READER} has ended"):
        _kept_inputs(set()).open(KEPT, header)


def test_an_asset_not_minted_for_the_job_serves_nothing() -> None:
    kept = _kept_inputs({READER})
    with pytest.raises(BadRequest, match=r"datasets\[0\]\.files\[0\]: names no outputs"):
        kept.input_file({"jobId": KEPT}, "0x" + "34" * 20, READER, label="datasets[0].files[0]")
