"""Deploy the Ocean contracts to a fresh dev chain and fund its accounts with the fee token."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.artifacts import contract, deploy
from provider.chain.client import ChainClient
from provider.chain.files import ChainAccount, DevChain

__all__ = ["FUNDING", "deploy_ocean"]

# Fee tokens (OCEAN) minted to every funded account, in wei.
FUNDING = 1_000_000 * 10**18


def deploy_ocean(client: ChainClient, keys: list[str]) -> DevChain:
    """Deploy in the order OCEAN-CHAIN-NOTES lists; ``keys[0]`` deploys and owns everything.

    The last key's address collects OPC fees (an account, so tests can read what it got);
    the router's pool template is the deployer's address: only a non-zero address is needed.
    """
    accounts: list[LocalAccount] = [Account.from_key(key) for key in keys]
    deployer = accounts[0]
    collector = accounts[-1].address
    start_block = int(client.w3.eth.block_number)
    ocean = deploy(client, deployer, "OceanToken", deployer.address)
    router = deploy(
        client, deployer, "FactoryRouter", deployer.address, ocean, deployer.address, collector, []
    )
    template721 = deploy(client, deployer, "ERC721Template")
    template20 = deploy(client, deployer, "ERC20Template")
    factory = deploy(client, deployer, "ERC721Factory", template721, template20, router)
    router_contract = contract(client, "FactoryRouter", router)
    client.transact(deployer, router_contract.functions.addFactory(factory), "router.addFactory")
    fixed_rate = deploy(client, deployer, "FixedRateExchange", router)
    client.transact(
        deployer, router_contract.functions.addFixedRateContract(fixed_rate), "addFixedRate"
    )
    dispenser = deploy(client, deployer, "Dispenser", router)
    client.transact(
        deployer, router_contract.functions.addDispenserContract(dispenser), "addDispenser"
    )
    escrow = deploy(client, deployer, "Escrow", router, collector)
    token = contract(client, "OceanToken", ocean)
    for account in accounts:
        client.transact(deployer, token.functions.mint(account.address, FUNDING), "mint OCEAN")
    return DevChain(
        chain_id=client.chain_id,
        rpc=client.rpc,
        start_block=start_block,
        addresses={
            "Ocean": ocean,
            "ERC721Factory": factory,
            "Router": router,
            "FixedPrice": fixed_rate,
            "Dispenser": dispenser,
            "Escrow": escrow,
            "OPFCommunityFeeCollector": collector,
            "ERC721Template": {"1": template721},
            "ERC20Template": {"1": template20},
        },
        accounts=tuple(ChainAccount(a.address, "0x" + bytes(a.key).hex()) for a in accounts),
    )
