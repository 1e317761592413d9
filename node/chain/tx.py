"""Sign and send transactions from one account, safely under concurrency.

Nonces are assigned locally under a lock (asking the node for the pending count on every
send races when several threads send at once), fees are EIP-1559, reverts are detected
before sending by gas estimation and decoded into :class:`ContractRevertError`, and every send
waits for its receipt with a timeout.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception
from web3.types import Nonce, TxParams, TxReceipt, Wei

from node.chain.errors import ChainError, revert_from

_RPC_ERRORS = (Web3Exception, OSError, ValueError)
"""What web3 raises when the RPC refuses or cannot be reached (insufficient funds, nonce
too low, connection refused...): reported as :class:`ChainError`."""


class TxSender:
    """Sends contract calls and deployments signed by ``account``."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        receipt_timeout: float = 120.0,
        gas_margin: float = 1.2,
        priority_fee: int = 1_000_000_000,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.receipt_timeout = receipt_timeout
        self.gas_margin = gas_margin
        self.priority_fee = priority_fee
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
        self._chain_id: int | None = None

    def transact(self, call: ContractFunction, *, value: int = 0) -> TxReceipt:
        """Send ``call`` as a transaction and return its successful receipt."""
        return self.wait(self.submit(call, value=value))

    def submit(self, call: ContractFunction, *, value: int = 0) -> HexBytes:
        """Sign and send ``call``; return its hash without waiting for the receipt.

        Callers that must survive a crash record the hash before waiting, so that after a
        restart they look for the receipt instead of sending the transaction twice.
        """
        try:
            params: TxParams = {"from": self.address, "value": Wei(value), "nonce": Nonce(0)}
            tx = call.build_transaction(params)
        except ContractLogicError as exc:
            raise revert_from(exc) from exc
        except _RPC_ERRORS as exc:
            raise ChainError(f"cannot prepare the transaction: {exc}") from exc
        return self._send(tx)

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> TxReceipt:
        """Deploy a contract; the receipt's ``contractAddress`` is its address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        try:
            params: TxParams = {"from": self.address, "nonce": Nonce(0)}
            tx = factory.constructor(*args).build_transaction(params)
        except ContractLogicError as exc:
            raise revert_from(exc) from exc
        except _RPC_ERRORS as exc:
            raise ChainError(f"cannot prepare the deployment: {exc}") from exc
        return self.wait(self._send(tx))

    def _fees(self) -> tuple[int, int]:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
        return 2 * int(base) + self.priority_fee, self.priority_fee

    def _send(self, tx: TxParams) -> HexBytes:
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        max_fee, priority = self._fees()
        tx = dict(tx)  # type: ignore[assignment]
        tx.pop("gasPrice", None)
        tx["chainId"] = self._chain_id
        tx["maxFeePerGas"] = Wei(max_fee)
        tx["maxPriorityFeePerGas"] = Wei(priority)
        tx["type"] = 2
        with self._lock:
            try:
                if self._next_nonce is None:
                    self._next_nonce = self.w3.eth.get_transaction_count(self.address, "pending")
                tx["nonce"] = Nonce(self._next_nonce)
                if "gas" not in tx or not tx["gas"]:
                    tx["gas"] = int(self.w3.eth.estimate_gas(tx) * self.gas_margin)
                signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except ContractLogicError as exc:
                raise revert_from(exc) from exc
            except _RPC_ERRORS as exc:
                self._next_nonce = None  # resynchronise from the node on the next send
                raise ChainError(f"sending from {self.address} failed: {exc}") from exc
            self._next_nonce += 1
        return tx_hash

    def receipt(self, tx_hash: HexBytes | str) -> TxReceipt | None:
        """The receipt of a sent transaction, or None while it is pending or unknown."""
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def needs_resend(self, tx_hash: HexBytes | str) -> bool:
        """Whether a transaction this node recorded did not land: it was mined and failed, or
        the chain no longer knows it (dropped from the pool, reorganised away). A pending one
        is known, so it is not sent again. Every duty that records an intent asks this."""
        receipt = self.receipt(tx_hash)
        if receipt is not None:
            return bool(receipt["status"] != 1)
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return True
        return False

    def in_flight(self) -> bool:
        """True while this account has sent transactions that are not mined yet. A duty that
        was killed between sending and recording its transaction's hash asks this before
        sending again: its transaction may be among them, and the chain will say so once
        they are mined."""
        eth = self.w3.eth
        return eth.get_transaction_count(self.address, "pending") > eth.get_transaction_count(
            self.address, "latest"
        )

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Wait for a receipt; raise on timeout or on a failed transaction."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=0.05
            )
        except TimeExhausted as exc:
            raise ChainError(
                f"no receipt for {tx_hash.hex()} within {self.receipt_timeout}s"
            ) from exc
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} failed (status 0)")
        return receipt
