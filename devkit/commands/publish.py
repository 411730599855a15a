"""``c2d publish``: put a dataset or an algorithm on the dev chain behind a provider."""

from __future__ import annotations

import argparse
import hashlib

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "publish"
HELP = "publish a dataset or algorithm (data NFT, datatoken, encrypted files, DDO) on the chain"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=("dataset", "algorithm"))
    parser.add_argument("--name", required=True)
    parser.add_argument("--file", dest="files", action="append", required=True, help="file URL")
    parser.add_argument("--provider", default="http://127.0.0.1:8000", help="provider URL")
    parser.add_argument(
        "--account", type=int, default=1, help="publisher: index in C2D_HOME/chain/accounts.json"
    )
    parser.add_argument("--service", choices=("compute", "access"), default="compute")
    parser.add_argument("--timeout", type=int, default=0, help="seconds an order stays valid")
    parser.add_argument(
        "--trust-algorithm",
        action="append",
        default=[],
        metavar="DID[,FILESCHECKSUM[,CONTAINERSECTIONCHECKSUM]]",
        help="datasets: an algorithm the compute service trusts",
    )
    parser.add_argument("--trust-publisher", action="append", default=[], metavar="ADDRESS")
    parser.add_argument("--allow-raw-algorithm", action="store_true")
    parser.add_argument("--allow-network", action="store_true")
    parser.add_argument("--allow", action="append", default=[], metavar="ADDRESS")
    parser.add_argument("--deny", action="append", default=[], metavar="ADDRESS")
    parser.add_argument("--image", default="python")
    parser.add_argument("--tag", default="3.11")
    parser.add_argument("--entrypoint", default="python3 $ALGO")
    parser.add_argument("--checksum", default="", help="algorithms: the image's digest")
    parser.add_argument("--mint-to", action="append", default=[], metavar="ADDRESS")


def run(args: argparse.Namespace) -> int:
    from eth_account import Account

    from devkit.commands import publish_input as check
    from devkit.provider_link import ProviderLink
    from devkit.publish import AssetDraft, mint_datatokens, publish_asset
    from provider.assets.ddo import Container, container_section_checksum
    from provider.chain.client import ChainClient
    from provider.chain.files import load_dev_chain
    from provider.errors import ConfigError, UsageError
    from provider.settings import load_settings

    # Everything is checked before the first transaction: what goes on chain stays there.
    if args.trust_algorithm and (args.kind != "dataset" or args.service != "compute"):
        raise UsageError("--trust-algorithm is for datasets with a compute service")
    trusted = [check.parse_trusted(entry) for entry in args.trust_algorithm]
    for option, values in (
        ("--trust-publisher", args.trust_publisher),
        ("--allow", args.allow),
        ("--deny", args.deny),
        ("--mint-to", args.mint_to),
    ):
        check.check_addresses(option, values)
    home = load_settings().home
    chain = load_dev_chain(home)
    if chain is None:
        raise ConfigError(f"no dev chain in {home / 'chain'}: run `c2d chain up` first")
    if not 0 <= args.account < len(chain.accounts):
        raise UsageError(
            f"--account {args.account}: the dev chain has accounts 0 to {len(chain.accounts) - 1}"
        )
    provider_address = check.provider_address(args.provider)
    if args.kind == "algorithm":
        digests = "".join(check.sha256_digests(args.files))
    else:
        check.check_reachable(args.files)
    publisher = Account.from_key(chain.accounts[args.account].private_key)
    client = ChainClient(chain.rpc)
    link = ProviderLink(args.provider, publisher, chain_id=chain.chain_id)
    files = [{"type": "url", "url": url, "method": "GET"} for url in args.files]
    container = None
    compute = None
    if args.kind == "algorithm":
        checksum = (
            args.checksum
            or "sha256:" + hashlib.sha256(f"{args.image}:{args.tag}".encode()).hexdigest()
        )
        container = {
            "entrypoint": args.entrypoint,
            "image": args.image,
            "tag": args.tag,
            "checksum": checksum,
        }
    elif args.service == "compute":
        compute = {
            "allowRawAlgorithm": args.allow_raw_algorithm,
            "allowNetworkAccess": args.allow_network,
            "publisherTrustedAlgorithms": trusted,
            "publisherTrustedAlgorithmPublishers": args.trust_publisher,
        }
    credentials = None
    if args.allow or args.deny:
        credentials = {
            "allow": [{"type": "address", "values": args.allow}] if args.allow else [],
            "deny": [{"type": "address", "values": args.deny}] if args.deny else [],
        }
    draft = AssetDraft(
        name=args.name,
        type=args.kind,
        files=files,
        service_type=args.service,
        timeout=args.timeout,
        compute=compute,
        container=container,
        credentials=credentials,
    )
    published = publish_asset(
        client,
        chain,
        publisher,
        draft,
        provider_url=link.url,
        provider_address=provider_address,
        encrypt=link.encrypt,
    )
    for address in args.mint_to:
        mint_datatokens(client, publisher, published.datatoken, address, 10 * 10**18)
    if container is not None:
        section = container_section_checksum(Container(**container))
        print(f"# trust it with: --trust-algorithm {published.did},{digests},{section}")
    print(f"# datatoken {published.datatoken}\n# nft {published.nft}")
    print(published.did)
    return 0
