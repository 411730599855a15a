"""The Escrow contract from the payee's side: read funds and authorisations, lock, claim."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3.exceptions import Web3Exception

from provider.chain.block_ranges import block_ranges
from provider.chain.client import ChainClient, ChainError, ChainUnavailable
from provider.chain.failover import RpcUnavailable
from provider.payments.escrow_rules import EscrowFacts

__all__ = ["Claim", "EscrowClient", "escrow_job_id"]


def escrow_job_id(job_id: str) -> int:
    """The uint256 an escrow lock is keyed by: keccak256 of the job id (never 0)."""
    return int.from_bytes(keccak(text=job_id), "big") or 1


@dataclass(frozen=True)
class Claim:
    tx: str
    claimed: int  # wei the payee got (before the OPC fee); 0 for a release or an expired lock


class EscrowClient:
    def __init__(self, client: ChainClient, address: str, payee: LocalAccount) -> None:
        self._client = client
        self._payee = payee
        self.address = address
        self._contract = client.contract("Escrow", address)

    def facts(self, payer: str, token: str, *, block: int | None = None) -> EscrowFacts:
        """Funds and this payee's authorisation, now or as of ``block``."""
        functions = self._contract.functions
        try:
            available, _locked = functions.getUserFunds(payer, token).call(block_identifier=block)
            auths = functions.getAuthorizations(token, payer, self._payee.address).call(
                block_identifier=block
            )
        except RpcUnavailable as error:
            raise ChainUnavailable(f"reading escrow failed: {error}") from None
        except (Web3Exception, OSError) as error:
            raise ChainError(f"reading escrow failed: {error}") from None
        mine = [a for a in auths if str(a[0]).lower() == self._payee.address.lower()]
        if not mine:
            return EscrowFacts(available=int(available), authorized=False)
        _, max_locked, current_locked, max_seconds, max_counts, current_locks = mine[0]
        return EscrowFacts(
            available=int(available),
            authorized=True,
            max_locked=int(max_locked),
            current_locked=int(current_locked),
            max_lock_seconds=int(max_seconds),
            max_lock_counts=int(max_counts),
            current_locks=int(current_locks),
        )

    def lock(self, job_id: int, token: str, payer: str, amount: int, seconds: int) -> str:
        call = self._contract.functions.createLock(job_id, token, payer, amount, seconds)
        receipt = self._client.transact(self._payee, call, "escrow createLock")
        return receipt["transactionHash"].to_0x_hex()

    def lock_expiry(self, job_id: int, token: str, payer: str) -> int | None:
        """The absolute expiry of the open lock ``job_id``, or None when there is none."""
        locks = self._contract.functions.getLocks(token, payer, self._payee.address).call()
        for lock in locks:
            if int(lock[0]) == job_id:
                return int(lock[3])
        return None

    def claim(self, job_id: int, token: str, payer: str, amount: int) -> Claim:
        """Claim ``amount`` (0 releases everything) and withdraw it; the rest goes back."""
        call = self._contract.functions.claimLockAndWithdraw(job_id, token, payer, amount, b"")
        receipt = self._client.transact(self._payee, call, "escrow claimLockAndWithdraw")
        claimed = self._client.events(self._contract, "Claimed", receipt)
        paid = int(claimed[0]["args"]["amount"]) if claimed else 0
        return Claim(receipt["transactionHash"].to_0x_hex(), paid)

    def find_settlement(self, job_id: int, payer: str, lock_tx: str) -> Claim | None:
        """The claim or cancel that closed lock ``job_id`` since its ``lock_tx``, read from the
        chain's logs (for a claim whose answer was lost), or None when there is none."""
        latest = int(self._client.w3.eth.block_number)
        receipt = self._client.w3.eth.get_transaction_receipt(lock_tx)  # type: ignore[arg-type]
        filters = {"payee": self._payee.address, "payer": payer}
        for start, end in block_ranges(int(receipt["blockNumber"]), latest):
            for name in ("Claimed", "Canceled"):
                logs = self._contract.events[name]().get_logs(
                    from_block=start, to_block=end, argument_filters=filters
                )
                for log in logs:
                    if int(log["args"]["jobId"]) == job_id:
                        paid = int(log["args"]["amount"]) if name == "Claimed" else 0
                        return Claim(log["transactionHash"].to_0x_hex(), paid)
        return None

    def cancel_expired(self, job_id: int, token: str, payer: str) -> str:
        call = self._contract.functions.cancelExpiredLock(job_id, token, payer, self._payee.address)
        receipt = self._client.transact(self._payee, call, "escrow cancelExpiredLock")
        return receipt["transactionHash"].to_0x_hex()

    def chain_time(self) -> int:
        """The latest block's timestamp: what lock expiries are compared with."""
        return int(self._client.w3.eth.get_block("latest")["timestamp"])
