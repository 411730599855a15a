"""``c2d submit`` of a paid job, as ocean.js does it: initializeCompute, fund and authorise the
escrow, order every DID input, computeStart with the payment; each transaction shown on stderr
(what, hash, gas) as it is mined.

The chain is the environment's (``--chain-id`` where it is priced on several), the fee token its
first on that chain (``--fee-token`` to choose), the RPC ``--rpc`` or ``$C2D_RPC_URL``, else the
dev chain recorded in ``C2D_HOME`` when it is that chain (what ``make demo`` serves).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from provider.commands.consumer.connection import ConsumerKey, RemoteError
from provider.errors import UsageError

if TYPE_CHECKING:
    from provider.commands.consumer.client import C2DClient

__all__ = [
    "ENV_RPC",
    "add_payment_arguments",
    "choose_environment",
    "paid_requested",
    "show_payment",
    "start_paid",
]

ENV_RPC = "C2D_RPC_URL"


def add_payment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--paid",
        action="store_true",
        help="pay for the job (implied by an environment without free use, --chain-id or "
        "--fee-token); default environment then: the provider's first priced one",
    )
    parser.add_argument(
        "--chain-id", type=int, help="the chain to pay on (default: the environment's only one)"
    )
    parser.add_argument(
        "--fee-token",
        metavar="ADDRESS",
        help="the token to pay in (default: the environment's first on that chain)",
    )
    parser.add_argument(
        "--rpc",
        metavar="URL",
        default=os.environ.get(ENV_RPC) or None,
        help=f"the chain's RPC URL (${ENV_RPC} sets the default; without either: the dev "
        "chain of C2D_HOME when it is the chain paid on)",
    )


def paid_requested(args: argparse.Namespace) -> bool:
    return bool(args.paid or args.chain_id is not None or args.fee_token)


def choose_environment(
    environments: list[dict[str, Any]], args: argparse.Namespace, provider: str
) -> tuple[dict[str, Any], bool]:
    """The environment to run in, and whether the job is paid."""
    paid = paid_requested(args)
    if args.environment:
        found = [env for env in environments if env["id"] == args.environment]
        if not found:
            offered = ", ".join(str(env["id"]) for env in environments) or "none"
            raise UsageError(
                f"--environment {args.environment}: {provider} offers no such environment "
                f"(it offers: {offered})"
            )
        environment = found[0]
    else:
        candidates = [env for env in environments if env.get("fees")] if paid else environments
        if not candidates:
            kind = "priced (paid) " if paid else ""
            raise UsageError(f"{provider} offers no {kind}compute environment")
        environment = candidates[0]
    if paid and not environment.get("fees"):
        raise UsageError(f"environment {environment['id']} is free only: it has no fees to pay")
    return environment, paid or not environment.get("free")


def start_paid(
    client: C2DClient, body: dict[str, Any], environment: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Pay for and start the job; the provider's answer to computeStart."""
    from provider.commands.consumer.ordering import (
        ReportingChainClient,
        check_can_pay,
        format_amount,
        fund_escrow,
        order_inputs,
        with_orders,
    )

    chain_id, token = _terms(environment, args)
    rpc = _rpc(args, chain_id)
    payment = {"chainId": chain_id, "token": token}
    init = client.initialize_compute(body, payment)
    terms = init["payment"]
    chain = ReportingChainClient(rpc, _say, timeout=60.0)
    signer = client.account
    if not isinstance(signer, ConsumerKey):
        raise TypeError("a paid start signs transactions: open the client with a ConsumerKey")
    account = signer.local_account()
    with _chain_errors(chain_id, rpc):
        check_can_pay(chain, account.address, init)
        _say(
            f"environment {environment['id']} on chain {chain_id}: "
            f"{format_amount(chain, token, int(terms['amount']))} for "
            f"{float(body.get('maxJobDuration') or environment['maxJobDuration']):g} s "
            f"(escrow {terms['escrowAddress']}, payee {terms['payee']})"
        )
        fund_escrow(chain, account, init)
        orders = order_inputs(chain, account, init)
    return client.paid_compute(with_orders(body, orders), payment)


def show_payment(client: C2DClient, job_id: str) -> None:
    """The settled payment of the job (the owner's view: signed in with a token)."""
    client.login()
    payment = client.status(job_id).get("payment")
    if payment:
        tx = payment.get("claimTx") or payment.get("cancelTx") or "none"
        print(f"payment: {payment['state']}, cost {payment['cost']}, claim {tx}", file=sys.stderr)


def _terms(environment: dict[str, Any], args: argparse.Namespace) -> tuple[int, str]:
    fees: dict[str, list[dict[str, Any]]] = environment["fees"]
    if args.chain_id is not None:
        if str(args.chain_id) not in fees:
            raise UsageError(
                f"--chain-id {args.chain_id}: environment {environment['id']} is priced on "
                f"chain(s) {', '.join(fees)}"
            )
        chain = str(args.chain_id)
    elif len(fees) == 1:
        chain = next(iter(fees))
    else:
        raise UsageError(
            f"environment {environment['id']} is priced on chains {', '.join(fees)}: "
            "give --chain-id"
        )
    tokens = [str(fee["feeToken"]) for fee in fees[chain]]
    if not args.fee_token:
        return int(chain), tokens[0]
    wanted = [t for t in tokens if t.lower() == args.fee_token.lower()]
    if not wanted:
        raise UsageError(
            f"--fee-token {args.fee_token}: environment {environment['id']} takes on chain "
            f"{chain}: {', '.join(tokens)}"
        )
    return int(chain), wanted[0]


def _rpc(args: argparse.Namespace, chain_id: int) -> str:
    if args.rpc:
        return str(args.rpc)
    from provider.chain.files import load_dev_chain
    from provider.settings import load_settings

    home = load_settings().home
    dev = load_dev_chain(home)
    if dev is not None and dev.chain_id == chain_id:
        return dev.rpc
    raise UsageError(
        f"no RPC for chain {chain_id}: give --rpc URL or set ${ENV_RPC}"
        + ("" if dev is None else f" (the dev chain of {home} is chain {dev.chain_id})")
    )


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _chain_errors(chain_id: int, rpc: str) -> Iterator[None]:
    """A chain's failures (no answer, a revert, a contract not there) as one line."""
    from web3.exceptions import Web3Exception

    from provider.chain.client import ChainError
    from provider.chain.failover import RpcUnavailable

    try:
        yield
    except (ChainError, RpcUnavailable) as error:
        raise RemoteError(f"chain {chain_id} ({rpc}): {error}") from None
    except (Web3Exception, OSError) as error:
        raise RemoteError(f"chain {chain_id} ({rpc}) did not answer as expected: {error}") from None
