"""The consumer CLI against a real provider: submit --wait, list, get, logs, results, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from eth_account import Account

from devkit.demo.files import FileServer
from devkit.launch import ServerProcess

_REPO = Path(__file__).resolve().parents[2]


def _c2d(*argv: str, key_file: Path, provider: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "C2D_PROVIDER_URL": provider, "C2D_CONSUMER_KEY_FILE": str(key_file)}
    env.pop("C2D_CONSUMER_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", *argv],
        env=env,
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_free_job_from_the_cli(
    server: ServerProcess, file_server: FileServer, files_dir: Path, tmp_path: Path
) -> None:
    account = Account.create()
    key_file = tmp_path / "consumer.key"
    key_file.write_text(account.key.hex())

    def c2d(*argv: str) -> subprocess.CompletedProcess[str]:
        return _c2d(*argv, key_file=key_file, provider=server.url)

    out = tmp_path / "results"
    submitted = c2d(
        "submit", "--dataset", file_server.url("weather.csv"),
        "--algorithm", str(files_dir / "stats.py"), "--wait", "--results-dir", str(out),
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.splitlines()[0]
    # Without a terminal, each change of the DAG is one line; the last one: all green.
    assert "70 Job finished: configure succeeded, algorithm succeeded, publish succeeded" in (
        submitted.stderr
    )
    with tarfile.open(out / "outputs.tar") as tar:
        member = tar.extractfile("stats.json")
        assert member is not None
        report = json.loads(member.read())
    # The algorithm read the 50 rows of the one dataset.
    assert report["0/0"]["temperature"]["count"] == 50
    assert (out / "algorithm.log").read_text().startswith("0:")

    listed = c2d("list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [(j["jobId"], j["status"]) for j in json.loads(listed.stdout)] == [(job_id, 70)]
    wide = c2d("list", "-o", "wide")
    assert wide.stdout.splitlines()[0].split() == [
        "JOB", "STATUS", "ENVIRONMENT", "CREATED", "DURATION", "RESULTS", "REASON",
    ]  # fmt: skip
    assert wide.stdout.splitlines()[1].startswith(job_id)

    got = c2d("get", job_id)
    assert got.returncode == 0, got.stderr
    assert " ├─✔ algorithm" in got.stdout and "outputs.tar" in got.stdout
    assert c2d("get", job_id, "-o", "yaml").stdout.startswith("owner: ")

    logs = c2d("logs", "--provider", server.url, job_id)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == (out / "algorithm.log").read_text()

    results = c2d("results", "--provider", server.url, job_id, "--output", str(tmp_path / "r2"))
    assert results.returncode == 0, results.stderr
    assert (tmp_path / "r2" / "outputs.tar").read_bytes() == (out / "outputs.tar").read_bytes()

    stopped = c2d("stop", job_id)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"job {job_id}: 70 Job finished"


def test_refusals_are_one_line(server: ServerProcess, tmp_path: Path) -> None:
    key_file = tmp_path / "consumer.key"
    key_file.write_text(Account.create().key.hex())
    unknown = _c2d("get", "f" * 32, key_file=key_file, provider=server.url)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(f"c2d: {server.url}: no job {'f' * 32} for 0x")
    assert unknown.stderr.count("\n") == 1
    refused = _c2d(
        "submit", "--dataset", "http://127.0.0.1:9/x.csv", "--algorithm", "did:op:none",
        key_file=key_file, provider=server.url,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"c2d: {server.url} refused: HTTP 4")
    assert "Traceback" not in refused.stderr
    away = _c2d("list", key_file=key_file, provider="http://127.0.0.1:9")
    assert away.returncode == 2
    assert away.stderr.startswith("c2d: cannot reach the provider at http://127.0.0.1:9")


def test_follow_and_stop_a_running_job(
    server: ServerProcess, file_server: FileServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "consumer.key"
    key_file.write_text(Account.create().key.hex())
    env = {**os.environ, "C2D_PROVIDER_URL": server.url, "C2D_CONSUMER_KEY_FILE": str(key_file)}

    def c2d(*argv: str) -> subprocess.CompletedProcess[str]:
        return _c2d(*argv, key_file=key_file, provider=server.url)

    ticker = tmp_path / "ticker.py"
    ticker.write_text("import time\nprint('tick', flush=True)\ntime.sleep(300)\n")
    submitted = c2d(
        "submit", "--dataset", file_server.url("weather.csv"), "--algorithm", str(ticker)
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()

    unfollowed = c2d("logs", "--provider", server.url, job_id)
    assert unfollowed.returncode == 2
    assert unfollowed.stderr.startswith(f"c2d: job {job_id} has not finished (")
    assert unfollowed.stderr.rstrip().endswith("add -f to follow its log")

    follower = subprocess.Popen(
        [sys.executable, "-m", "provider.cli", "logs", "--provider", server.url, job_id, "-f"],
        env=env,
        cwd=_REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    try:
        # The first line arrives while the algorithm still runs.
        assert follower.stdout.readline() == "tick\n"
        stopped = c2d("stop", job_id)
        assert stopped.returncode == 0, stopped.stderr
        # Stopping ends the algorithm, and with it the stream.
        _, errors = follower.communicate(timeout=120)
        assert follower.returncode == 0, errors
    finally:
        follower.kill()
    got = c2d("get", job_id, "-o", "json")
    job = json.loads(got.stdout)
    # As on Ocean Node, a stopped job ends 70 with the reason; its results are published.
    assert (job["status"], job["statusReason"]) == (70, "stopped on request")
    tree = c2d("get", job_id).stdout
    (algorithm_line,) = [line for line in tree.splitlines() if "─✔ algorithm" in line]
    assert algorithm_line.rstrip().endswith("stopped on request")
