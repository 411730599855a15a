"""JSON and text log lines: one event a line, the job's context, no secrets or URLs."""

from __future__ import annotations

import io
import json
import logging

from provider.observability.logs import JsonFormatter, TextFormatter, keep_in_logs, scrub

JOB = {"job_id": "ab" * 16, "owner": "0x" + "Ab" * 20, "environment": "free", "step": "configure"}


def _line(formatter: logging.Formatter, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("c2d.test-logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.warning(message, *args, extra=JOB)
    return stream.getvalue()


def test_a_json_line_parses_and_carries_the_job() -> None:
    line = _line(JsonFormatter(), "step ended in %.1f s", 0.25)
    assert line.count("\n") == 1
    event = json.loads(line)
    assert event["event"] == "step ended in 0.2 s" or event["event"] == "step ended in 0.3 s"
    assert {k: event[k] for k in JOB} == JOB
    assert event["level"] == "warning" and event["logger"] == "c2d.test-logs"


def test_urls_keys_signatures_and_tokens_never_reach_the_log() -> None:
    secret = "0x" + "1f" * 32
    signature = "0x" + "ab" * 65
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    message = "fetch https://user:pw@example.com/x?sig=1 with %s %s %s"
    for formatter in (JsonFormatter(), TextFormatter()):
        line = _line(formatter, message, secret, signature, token)
        for leaked in ("example.com", secret, signature, token):
            assert leaked not in line
        assert JOB["owner"] in line and JOB["job_id"] in line


def test_scrub_keeps_addresses_and_job_ids() -> None:
    text = f"job {JOB['job_id']} of {JOB['owner']}"
    assert scrub(text) == text


def test_the_providers_own_address_is_shown_but_not_a_query_string_sent_to_it() -> None:
    keep_in_logs("http://127.0.0.1:18731")
    assert scrub("Uvicorn running on http://127.0.0.1:18731 (quit)") == (
        "Uvicorn running on http://127.0.0.1:18731 (quit)"
    )
    assert scrub("GET http://127.0.0.1:18731/api/services/compute.") == (
        "GET http://127.0.0.1:18731/api/services/compute."
    )
    assert scrub("GET http://127.0.0.1:18731/x?token=abc") == "GET <url>"
    assert scrub("other http://127.0.0.1:1873 and http://127.0.0.1:187310") == (
        "other <url> and <url>"
    )
