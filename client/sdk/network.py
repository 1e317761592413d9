"""A connection to one labelnet deployment, acting as (at most) one account.

The chain id is checked on connect: the RPC endpoint must serve the chain the deployment
file names, otherwise every transaction would go to contracts that do not exist there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception

from client.devnet import DevnetInfo
from client.sdk.errors import SdkError
from node.app.chain import load_deployment
from node.chain.contracts import Contracts, Deployment, bind
from node.chain.qualifications import Reputation, domain_name, read_reputation
from node.chain.tx import TxSender
from node.keys import load_keystore

RPC_TIMEOUT = 30.0


class NetworkError(SdkError, RuntimeError):
    """The RPC endpoint cannot be reached or serves another chain than the deployment's."""


class NoAccountError(SdkError, RuntimeError):
    """The connection has no account, and the operation sends a transaction."""


@dataclass(frozen=True)
class Network:
    """web3, the deployment's contracts and, when an account is given, its sender."""

    w3: Web3
    deployment: Deployment
    contracts: Contracts
    account: LocalAccount | None = None

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        deployment_file: Path,
        keystore: Path | None = None,
        password: str | None = None,
    ) -> Network:
        """Connect to ``rpc_url``; with a keystore (and its password), act as its account."""
        deployment = load_deployment(deployment_file)
        account = None
        if keystore is not None:
            if password is None:
                raise NoAccountError(f"keystore {keystore} needs a password")
            account = load_keystore(keystore, password)
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))
        try:
            served = int(w3.eth.chain_id)
        except (Web3Exception, OSError, ValueError) as exc:
            reason = "connection refused" if "refused" in str(exc) else type(exc).__name__
            raise NetworkError(f"cannot reach the chain at {rpc_url} ({reason})") from exc
        if served != deployment.chain_id:
            raise NetworkError(
                f"{rpc_url} serves chain {served} but {deployment_file} is for chain "
                f"{deployment.chain_id}"
            )
        return cls(w3=w3, deployment=deployment, contracts=bind(w3, deployment), account=account)

    @classmethod
    def from_devnet(cls, directory: Path, account: str | None = None) -> Network:
        """Connect to the devnet in ``directory`` as its account ``account`` (or none)."""
        info = DevnetInfo.load(directory)
        keystore = None if account is None else info.account(account).keystore
        password = None if account is None else info.password()
        return cls.connect(info.rpc_url, info.deployment_file, keystore, password)

    @property
    def address(self) -> str:
        """The account's checksummed address."""
        return self.require_account().address

    def require_account(self) -> LocalAccount:
        if self.account is None:
            raise NoAccountError("this needs an account: pass a keystore (or a devnet account)")
        return self.account

    def sender(self) -> TxSender:
        """A new sender for the account (each keeps its own nonce counter)."""
        return TxSender(self.w3, self.require_account())

    def now(self) -> int:
        """The chain's clock: the latest block's timestamp."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def token_balance(self, address: str | None = None) -> int:
        """Token balance of ``address`` (default: the account)."""
        owner = Web3.to_checksum_address(address or self.address)
        return int(self.contracts.token.functions.balanceOf(owner).call())

    def reputation(self, address: str, domain: str | None = None) -> dict[str, Reputation]:
        """``address``'s reputation counters (docs/qualification.md), by domain: ``domain``'s
        alone, or every domain its claims were credited in (from the gate's
        ``ReputationCredited`` events since the deployment's first block)."""
        gate = self.contracts.qualifications
        if gate is None:
            raise NetworkError("this deployment has no Qualifications gate (deployed before v3)")
        account = Web3.to_checksum_address(address)
        if domain is not None:
            return {domain: read_reputation(gate, account, domain)}
        events = gate.events.ReputationCredited().get_logs(
            from_block=self.deployment.start_block, argument_filters={"account": account}
        )
        domains = sorted({domain_name(event.args.domain) for event in events})
        return {name: read_reputation(gate, account, name) for name in domains}
