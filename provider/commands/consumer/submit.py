"""``c2d submit``: start a job on a provider — datasets by URL or DID, the algorithm by file,
URL or DID; free, or paid (``provider/commands/consumer/paid.py``) — and with ``--wait`` follow
its DAG and download its results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from provider.commands.consumer.connection import (
    add_connection_arguments,
    open_client,
    remote_errors,
)
from provider.commands.consumer.paid import (
    add_payment_arguments,
    choose_environment,
    show_payment,
    start_paid,
)
from provider.errors import UsageError

__all__ = ["HELP", "NAME", "add_arguments", "build_request", "run"]

NAME = "submit"
HELP = "start a compute job, free or paid, on a provider (consumer; --wait: follow, download)"
_MAX_RAWCODE = 512 * 1024  # what the provider takes in meta.rawcode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="URL|DID",
        help="a dataset: an http(s) URL or an asset DID (repeat for several)",
    )
    parser.add_argument(
        "--algorithm",
        required=True,
        metavar="FILE|URL|DID",
        help="the algorithm: a local file (sent as raw code), an http(s) URL or an asset DID",
    )
    parser.add_argument(
        "--service", help="the service id of every DID asset (default: each asset's first service)"
    )
    parser.add_argument(
        "--image", default="python:3.11", help="container image:tag of a file or URL algorithm"
    )
    parser.add_argument(
        "--entrypoint", default="python3 $ALGO", help="how the container runs the algorithm"
    )
    parser.add_argument(
        "--environment", help="environment id (default: the provider's first; paid: first priced)"
    )
    parser.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="ID=AMOUNT",
        help="a resource to ask for, e.g. cpu=2 or ram=4 (repeat; default: the environment's)",
    )
    parser.add_argument("--duration", type=float, help="maximum job duration in seconds")
    parser.add_argument(
        "--publish-results",
        metavar="NAME",
        help="paid jobs: publish outputs.tar as a new asset named NAME, which you will own",
    )
    parser.add_argument(
        "--publish-service",
        action="append",
        default=[],
        choices=["access", "compute"],
        help="a service of that asset, in this order (repeat; default: access); its compute"
        " service runs the algorithms you publish",
    )
    parser.add_argument("--wait", action="store_true", help="follow the job, download results")
    parser.add_argument(
        "--results-dir", type=Path, help="where --wait puts the results (default: ./JOB_ID)"
    )
    add_connection_arguments(parser)
    add_payment_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from provider.commands.consumer.remote import download_results, wait_for_asset, wait_for_job

    body = build_request(args)
    with open_client(args, timeout=120.0) as client, remote_errors(args.provider):
        environment, paid = choose_environment(client.environments(), args, args.provider)
        body["environment"] = environment["id"]
        job = start_paid(client, body, environment, args) if paid else client.free_compute(body)
        job_id = str(job["jobId"])
        print(job_id, flush=True)
        if not args.wait:
            return 0
        job = wait_for_job(client, job_id)
        if job.get("statusReason"):
            print(f"reason: {job['statusReason']}")
        if paid:
            show_payment(client, job_id)
        download_results(client, job, args.results_dir or Path(job_id))
        if args.publish_results and int(job["status"]) == 70:
            asset = wait_for_asset(client, job_id)
            if asset.get("state") != "published":
                why = asset.get("note") or asset.get("state")
                print(f"outputs not published as an asset: {why}", file=sys.stderr)
                return 1
            print(f"asset: {asset['did']}")
    return 0 if int(job["status"]) == 70 else 1


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The start request's body (without the consumer's address and signature)."""
    if not args.dataset:
        raise UsageError("give at least one --dataset URL or DID")
    body: dict[str, Any] = {
        "datasets": [_asset(value, args.service) for value in args.dataset],
        "algorithm": _algorithm(args),
    }
    if args.resource:
        body["resources"] = [_resource(value) for value in args.resource]
    if args.duration is not None:
        if args.duration <= 0:
            raise UsageError(f"--duration {args.duration}: give a number of seconds above 0")
        body["maxJobDuration"] = args.duration
    if args.publish_service and not args.publish_results:
        raise UsageError("--publish-service: give the asset's name with --publish-results too")
    if args.publish_results:
        body["publishResults"] = {
            "name": args.publish_results,
            "services": args.publish_service or ["access"],
        }
    return body


def _published(did: str, service: str | None) -> dict[str, Any]:
    return {"documentId": did} | ({"serviceId": service} if service else {})


def _asset(value: str, service: str | None) -> dict[str, Any]:
    if value.startswith("did:"):
        return _published(value, service)
    if value.startswith(("http://", "https://")):
        return {"fileObject": {"type": "url", "url": value, "method": "GET"}}
    raise UsageError(f"--dataset {value}: give an http(s) URL or a did:op: DID")


def _algorithm(args: argparse.Namespace) -> dict[str, Any]:
    value: str = args.algorithm
    if value.startswith("did:"):
        return _published(value, args.service)
    image, _, tag = args.image.partition(":")
    container = {"entrypoint": args.entrypoint, "image": image, "tag": tag or "latest"}
    if value.startswith(("http://", "https://")):
        return {"meta": {"url": value, "container": container}}
    path = Path(value)
    try:
        code = path.read_bytes()
    except OSError as error:
        raise UsageError(
            f"--algorithm {value}: {error.strerror} (give a file, an http(s) URL or a DID)"
        ) from None
    if len(code) > _MAX_RAWCODE:
        raise UsageError(f"--algorithm {value}: larger than {_MAX_RAWCODE} bytes; serve it by URL")
    try:
        text = code.decode()
    except UnicodeDecodeError:
        raise UsageError(f"--algorithm {value}: not UTF-8 text; serve it by URL") from None
    return {"meta": {"rawcode": text, "container": container}}


def _resource(value: str) -> dict[str, Any]:
    name, _, amount = value.partition("=")
    try:
        number = float(amount)
    except ValueError:
        number = -1.0
    if not name or number < 0:
        raise UsageError(f"--resource {value}: give ID=AMOUNT, e.g. cpu=2")
    return {"id": name, "amount": number}
