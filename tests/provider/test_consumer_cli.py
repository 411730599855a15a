"""The consumer CLI's pure parts: the key, the start request, the step tree, the help."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from eth_account import Account

from devkit.client import sign_request
from provider.cli import main
from provider.commands.consumer.connection import ENV_KEY, ENV_KEY_FILE, ConsumerKey, load_key
from provider.commands.consumer.paid import choose_environment
from provider.commands.consumer.steps import format_job, job_steps
from provider.commands.consumer.submit import add_arguments, build_request
from provider.errors import UsageError

KEY = "0x" + "4c" * 32


def test_the_key_gives_eth_accounts_address_and_signature() -> None:
    account = Account.from_key(KEY)
    key = load_key_from_env(KEY)
    assert key.address == account.address
    assert sign_request(key, 7, "freeStartCompute") == sign_request(account, 7, "freeStartCompute")


def load_key_from_env(value: str) -> ConsumerKey:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_KEY, value)
        return load_key(None)


def test_a_key_file_is_read_and_bad_keys_are_refused_without_echoing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(UsageError, match=f"--key-file FILE .*\\${ENV_KEY}"):
        load_key(None)
    key_file = tmp_path / "key"
    key_file.write_text(KEY.removeprefix("0x") + "\n")
    assert load_key(key_file).address == Account.from_key(KEY).address
    key_file.write_text("0x1234secret")
    with pytest.raises(UsageError) as refused:
        load_key(key_file)
    assert "1234secret" not in str(refused.value)
    assert "64 hex digits" in str(refused.value)
    with pytest.raises(UsageError, match="No such file"):
        load_key(tmp_path / "missing")


def _submit_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_start_request_from_urls_files_and_dids(tmp_path: Path) -> None:
    code = tmp_path / "algo.py"
    code.write_text("print('hi')\n")
    body = build_request(
        _submit_args(
            "--dataset", "https://example.org/a.csv", "--dataset", "did:op:abc",
            "--algorithm", str(code), "--image", "python:3.12", "--resource", "cpu=2",
            "--duration", "60", "--environment", "free",
        )
    )  # fmt: skip
    assert body == {
        "datasets": [
            {"fileObject": {"type": "url", "url": "https://example.org/a.csv", "method": "GET"}},
            {"documentId": "did:op:abc"},
        ],
        "algorithm": {
            "meta": {
                "rawcode": "print('hi')\n",
                "container": {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.12"},
            }
        },
        "resources": [{"id": "cpu", "amount": 2.0}],
        "maxJobDuration": 60.0,
    }
    by_did = build_request(_submit_args("--dataset", "did:op:d", "--algorithm", "did:op:a"))
    assert by_did["algorithm"] == {"documentId": "did:op:a"}
    chosen = _submit_args("--dataset", "did:op:d", "--algorithm", "did:op:a", "--service", "s1")
    assert build_request(chosen)["datasets"] == [{"documentId": "did:op:d", "serviceId": "s1"}]
    by_url = build_request(_submit_args("--dataset", "did:op:d", "--algorithm", "http://h/a.py"))
    assert by_url["algorithm"]["meta"]["url"] == "http://h/a.py"
    published = _submit_args(
        "--dataset", "did:op:d", "--algorithm", "did:op:a", "--publish-results", "stats",
    )  # fmt: skip
    assert build_request(published)["publishResults"] == {"name": "stats", "services": ["access"]}
    both = _submit_args(
        "--dataset", "did:op:d", "--algorithm", "did:op:a", "--publish-results", "stats",
        "--publish-service", "compute", "--publish-service", "access",
    )  # fmt: skip
    assert build_request(both)["publishResults"]["services"] == ["compute", "access"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--algorithm", "did:op:a"], "at least one --dataset"),
        (["--dataset", "ftp://x", "--algorithm", "did:op:a"], "http\\(s\\) URL or a did:op:"),
        (["--dataset", "did:op:d", "--algorithm", "/no/such.py"], "No such file"),
        (["--dataset", "did:op:d", "--algorithm", "did:op:a", "--resource", "cpu"], "ID=AMOUNT"),
        (["--dataset", "did:op:d", "--algorithm", "did:op:a", "--duration", "0"], "above 0"),
        (
            ["--dataset", "did:op:d", "--algorithm", "did:op:a", "--publish-service", "compute"],
            "--publish-service: give the asset's name with --publish-results too",
        ),
    ],
)
def test_bad_submit_arguments_are_refused_with_what_to_give(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_request(_submit_args(*argv))


def _job(status: int, **fields: object) -> dict[str, object]:
    return {"jobId": "j1", "status": status, "statusText": "x", "dateCreated": "100", **fields}


def test_the_steps_of_a_running_a_failed_and_a_finished_job() -> None:
    running = job_steps(_job(40, algoStartTimestamp="102"))
    assert [(s.name, s.phase) for s in running] == [
        ("configure", "Succeeded"),
        ("algorithm", "Running"),
        ("publish", "Pending"),
    ]
    assert running[0].start == 100 and running[0].end == 102
    failed = job_steps(
        _job(41, algoStartTimestamp="102", dateFinished="105", statusReason="exit code 3")
    )
    assert [(s.phase, s.message) for s in failed] == [
        ("Succeeded", ""),
        ("Failed", "exit code 3"),
        ("Skipped", ""),
    ]
    assert failed[1].end == 105
    bad_data = job_steps(_job(31, dateFinished="101", statusReason="download refused"))
    assert [s.phase for s in bad_data] == ["Failed", "Skipped", "Skipped"]
    done = _job(70, algoStartTimestamp="102", algoStopTimestamp="104", dateFinished="105")
    assert [s.phase for s in job_steps(done)] == ["Succeeded"] * 3
    stopped = job_steps({**done, "statusReason": "stopped on request"})
    assert [s.message for s in stopped] == ["", "stopped on request", ""]
    tree = format_job(done, now=200)
    assert " ├─✔ configure" in tree and " └─✔ publish" in tree
    assert "Duration:     5s" in tree


def test_version_and_defaults_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("c2d 0.1.0")
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: python:3.11)" in text
    assert "(default: each asset's first service)" in text


def test_no_key_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    assert main(["list", "--provider", "http://127.0.0.1:9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("c2d: no consumer key") and error.count("\n") == 1


_FREE = {"id": "free", "free": {"maxJobDuration": 60}, "fees": {}}
_PAID = {"id": "paid", "fees": {"8996": [{"feeToken": "0xT", "prices": []}]}}
_BOTH = {"id": "both", "free": {"maxJobDuration": 60}, "fees": _PAID["fees"]}


@pytest.mark.parametrize(
    ("argv", "chosen", "paid"),
    [
        ([], "free", False),  # the provider's first
        (["--paid"], "paid", True),  # its first priced one
        (["--chain-id", "8996"], "paid", True),
        (["--fee-token", "0xT"], "paid", True),
        (["--environment", "paid"], "paid", True),  # no free use: paid without asking
        (["--environment", "both"], "both", False),  # free use offered: free unless asked
        (["--environment", "both", "--paid"], "both", True),
    ],
)
def test_the_environment_and_whether_the_job_is_paid(
    argv: list[str], chosen: str, paid: bool
) -> None:
    args = _submit_args("--dataset", "did:op:d", "--algorithm", "did:op:a", *argv)
    environment, is_paid = choose_environment([_FREE, _PAID, _BOTH], args, "http://p")
    assert (environment["id"], is_paid) == (chosen, paid)


@pytest.mark.parametrize(
    ("environments", "argv", "message"),
    [
        ([_FREE, _PAID], ["--environment", "gpu"], "offers no such environment .*free, paid"),
        ([_FREE], ["--paid"], "http://p offers no priced \\(paid\\) compute environment"),
        ([_FREE, _PAID], ["--environment", "free", "--paid"], "free is free only"),
    ],
)
def test_an_environment_that_cannot_serve_is_a_usage_error(
    environments: list[dict[str, object]], argv: list[str], message: str
) -> None:
    args = _submit_args("--dataset", "did:op:d", "--algorithm", "did:op:a", *argv)
    with pytest.raises(UsageError, match=message):
        choose_environment(environments, args, "http://p")  # type: ignore[arg-type]
