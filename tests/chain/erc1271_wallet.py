"""A minimal ERC-1271 contract wallet, assembled by hand (no compiler is needed to run the tests).

What it does, as Solidity would say it::

    contract Wallet {
        address constant OWNER = <owner>;  // written into the code at deployment
        function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
            // sig is r ‖ s ‖ v, ABI-encoded at its usual offset (0x40)
            (bytes32 r, bytes32 s, uint8 v) = (sig[0:32], sig[32:64], uint8(sig[64]));
            return ecrecover(hash, v, r, s) == OWNER ? bytes4(0x1626ba7e) : bytes4(0);
        }
    }

It answers every call that way (no selector dispatch), which is all a provider asks of it.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from provider.chain.client import ChainClient

__all__ = ["deploy_wallet", "wallet_code"]


def wallet_code(owner: str) -> bytes:
    """Init code that deploys the runtime above for ``owner``."""
    owner_bytes = bytes.fromhex(owner.removeprefix("0x"))
    head = bytes.fromhex(
        "600435600052"  # mstore(0x00, calldataload(0x04))          hash
        "60a43560f81c602052"  # mstore(0x20, calldataload(0xa4) >> 248)  v
        "606435604052"  # mstore(0x40, calldataload(0x64))          r
        "608435606052"  # mstore(0x60, calldataload(0x84))          s
        "602060806080600060015afa50"  # staticcall(gas, 1, 0, 0x80, 0x80, 0x20); pop
        "60805173"  # mload(0x80), push20 owner…
    )
    middle = bytes.fromhex("14")  # eq
    no = bytes.fromhex("600060005260206000f3")  # return 32 zero bytes
    yes = bytes.fromhex("5b631626ba7e60e01b60005260206000f3")  # return the magic value
    jump_to = len(head) + len(owner_bytes) + len(middle) + 3 + len(no)
    runtime = head + owner_bytes + middle + bytes([0x60, jump_to, 0x57]) + no + yes
    init = bytes([0x60, len(runtime), 0x80, 0x60, 0x0B, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3])
    return init + runtime


def deploy_wallet(client: ChainClient, owner: LocalAccount) -> str:
    """Deploy a wallet ``owner`` signs for (``owner`` pays the gas); its address."""
    constructor = client.w3.eth.contract(abi=[], bytecode=wallet_code(owner.address)).constructor()
    receipt = client.transact(owner, constructor, "deploy the ERC-1271 wallet")
    return str(receipt["contractAddress"])
