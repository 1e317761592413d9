"""Deploy the labelnet contracts and bind to deployed ones.

A :class:`Deployment` is what a node needs to know about a chain: the contract addresses and
the chain id. :func:`deploy` creates token, staking, market, the market's gate
(``Qualifications``), registry, review board and task keys from the committed artifacts and
wires them together (the staking contract names the market once; the market and its gate name
each other, the market through the gate's address computed before either exists; the review
board and task keys read the market through its views).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from node.chain.artifacts import load_artifact
from node.chain.tx import TxSender


@dataclass(frozen=True)
class DeployConfig:
    """Protocol parameters fixed at deployment."""

    token_supply: int = 1_000_000_000 * 10**18
    min_stake: int = 1_000 * 10**18
    unbonding_delay: int = 7 * 24 * 3600
    slash_bps: int = 1_000
    max_committee: int = 16
    min_attestations: int = 1
    quorum_bps: int = 3334
    """Least share of all active stake (basis points) a winning root's attesters must still
    hold at finalization: just over a third, so a third of the stake cannot decide alone."""
    min_label_time: int = 3600
    """Least seconds a seated task leaves between its seat and commit deadlines, to label the
    items dealt once the seats are taken (market v2, docs/settlement.md §1.1)."""
    min_review_time: int = 3600
    """Least seconds of each review window (ReviewBoard, docs/review.md §1): a person judges."""
    review_settle_period: int = 30 * 24 * 3600
    """Seconds, after the ReviewBoard first sees a reviewed task final, during which its
    reviewers may still be settled before their unsettled bonds are burned."""


@dataclass(frozen=True)
class Deployment:
    """Addresses of one labelnet deployment."""

    chain_id: int
    token: ChecksumAddress
    staking: ChecksumAddress
    market: ChecksumAddress
    registry: ChecksumAddress
    start_block: int = 0
    """The block the contracts were deployed in: event scans never need to look earlier."""
    review_board: ChecksumAddress | None = None
    """The ReviewBoard (docs/review.md §6); None in a deployment made before it existed."""
    task_keys: ChecksumAddress | None = None
    """``TaskKeys``, the record of confidential tasks' key documents (docs/confidential.md);
    None in a deployment file written before it, whose nodes then run no confidential task."""
    qualifications: ChecksumAddress | None = None
    """The market's gate (gated tasks and reputation, market v3); None in a deployment file
    written before it existed."""

    def to_json(self) -> dict[str, object]:
        """The deployment file's fields (an absent optional contract is left out, not null)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Deployment:
        """Parse what :meth:`to_json` wrote; raises KeyError/TypeError/ValueError if malformed."""
        return cls(
            chain_id=int(document["chain_id"]),
            token=Web3.to_checksum_address(document["token"]),
            staking=Web3.to_checksum_address(document["staking"]),
            market=Web3.to_checksum_address(document["market"]),
            registry=Web3.to_checksum_address(document["registry"]),
            start_block=int(document.get("start_block", 0)),
            review_board=(
                Web3.to_checksum_address(document["review_board"])
                if document.get("review_board")
                else None
            ),
            task_keys=(
                Web3.to_checksum_address(document["task_keys"])
                if document.get("task_keys")
                else None
            ),
            qualifications=(
                Web3.to_checksum_address(document["qualifications"])
                if document.get("qualifications")
                else None
            ),
        )


@dataclass(frozen=True)
class Contracts:
    """web3 contract objects for a deployment."""

    token: Contract
    staking: Contract
    market: Contract
    registry: Contract
    review_board: Contract | None = None
    task_keys: Contract | None = None
    """None when the deployment has no ``TaskKeys`` (see :attr:`Deployment.task_keys`)."""
    qualifications: Contract | None = None
    """The market's gate; None for a deployment without one."""


def bind(w3: Web3, deployment: Deployment) -> Contracts:
    """Contract objects for an existing deployment."""

    def at(name: str, address: ChecksumAddress) -> Contract:
        return w3.eth.contract(address=address, abi=load_artifact(name).abi)

    return Contracts(
        token=at("LabelToken", deployment.token),
        staking=at("ValidatorStaking", deployment.staking),
        market=at("TaskMarket", deployment.market),
        registry=at("NodeRegistry", deployment.registry),
        review_board=(
            None if deployment.review_board is None else at("ReviewBoard", deployment.review_board)
        ),
        task_keys=None if deployment.task_keys is None else at("TaskKeys", deployment.task_keys),
        qualifications=(
            at("Qualifications", deployment.qualifications) if deployment.qualifications else None
        ),
    )


def deploy(sender: TxSender, config: DeployConfig | None = None) -> Deployment:
    """Deploy token, staking, market, gate, registry, review board and task keys; the
    deployer receives the whole supply."""
    config = config or DeployConfig()

    blocks: list[int] = []

    def create(name: str, *args: object) -> ChecksumAddress:
        artifact = load_artifact(name)
        receipt = sender.deploy(artifact.abi, artifact.bytecode, *args)
        blocks.append(int(receipt["blockNumber"]))
        address = receipt["contractAddress"]
        assert address is not None
        return Web3.to_checksum_address(address)

    token = create("LabelToken", sender.address, config.token_supply)
    staking = create(
        "ValidatorStaking",
        token,
        config.min_stake,
        config.unbonding_delay,
        config.slash_bps,
        sender.address,
    )
    # The market names its gate, and the gate its market: the gate is the contract this
    # sender creates right after the market, at the next nonce.
    market_nonce = sender.w3.eth.get_transaction_count(sender.address, "pending")
    gate = create_address(sender.address, market_nonce + 1)
    market = create(
        "TaskMarket",
        token,
        staking,
        config.max_committee,
        config.min_attestations,
        config.quorum_bps,
        config.min_label_time,
        gate,
    )
    qualifications = create("Qualifications", market)
    if qualifications != gate:
        raise RuntimeError(f"the gate was created at {qualifications}, not at {gate}")
    registry = create("NodeRegistry")
    review_board = create(
        "ReviewBoard", token, market, staking, config.min_review_time, config.review_settle_period
    )
    task_keys = create("TaskKeys", market)
    deployment = Deployment(
        chain_id=sender.w3.eth.chain_id,
        token=token,
        staking=staking,
        market=market,
        registry=registry,
        start_block=blocks[0],  # where the token was created: nothing of ours is older
        review_board=review_board,
        task_keys=task_keys,
        qualifications=qualifications,
    )
    sender.transact(bind(sender.w3, deployment).staking.functions.setMarket(market))
    return deployment


def create_address(deployer: str, nonce: int) -> ChecksumAddress:
    """The address a ``CREATE`` by ``deployer`` at ``nonce`` gives:
    ``keccak256(rlp([deployer, nonce]))[12:]``."""
    if nonce == 0:
        encoded_nonce = b"\x80"
    elif nonce < 0x80:
        encoded_nonce = bytes([nonce])
    else:
        raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        encoded_nonce = bytes([0x80 + len(raw)]) + raw
    payload = b"\x94" + bytes.fromhex(deployer[2:]) + encoded_nonce
    digest = Web3.keccak(bytes([0xC0 + len(payload)]) + payload)
    return Web3.to_checksum_address(digest[12:])
