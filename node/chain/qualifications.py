"""Typed reads and calls of the market's gate, ``Qualifications`` (docs/qualification.md).

The gate holds the rules of gated tasks and the reputation counters their claims credit
(issue #19 items 1 and 2). Everything here reads the chain; nothing is cached, because the
counters are the chain's, recomputable by anyone from the finalized results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from node.chain.errors import ContractRevertError, revert_from

log = logging.getLogger(__name__)

BPS = 10_000
"""Basis points in one; accuracies in rules are in basis points."""

ADMISSION_ERRORS = frozenset(
    {"NotOnAllowlist", "ReputationTooLow", "AccuracyTooLow", "NotQualified"}
)
"""The reverts that name the admission rule an account failed."""


def domain_id(name: str) -> bytes:
    """A reputation domain such as ``"radiology"`` as the left-aligned bytes32 a task states;
    the empty name is the zero domain (counted nowhere)."""
    raw = name.encode("ascii")
    if len(raw) > 32:
        raise ValueError(f"a domain is at most 32 ASCII bytes: {name!r}")
    return raw.ljust(32, b"\0")


def domain_name(raw: bytes) -> str:
    """The inverse of :func:`domain_id`."""
    return bytes(raw).rstrip(b"\0").decode("ascii", errors="replace")


@dataclass(frozen=True)
class Reputation:
    """An account's counters in one domain (``IQualifications.Reputation``)."""

    accepted: int
    answered: int
    tasks: int

    @property
    def accuracy(self) -> float | None:
        """``accepted / answered``, or None when nothing was answered."""
        return self.accepted / self.answered if self.answered else None


@dataclass(frozen=True)
class Gate:
    """What a requester states about a gated task (``IQualifications.Gate``)."""

    domain: str = ""
    allowlist_root: bytes = b"\0" * 32
    min_accepted: int = 0
    min_accuracy_bps: int = 0
    qualification_task_id: int = 0
    qualification_accuracy_bps: int = 0
    allowlist: tuple[str, ...] = ()
    """The accounts under ``allowlist_root``, when the requester holds them: not sent to the
    gate, but published in the task's manifest (its ``allowlist`` field) so that each listed
    node builds its own proof (:mod:`node.protocol.manifest_allowlist`)."""

    def as_tuple(self) -> tuple[bytes, bytes, int, int, int, int]:
        """The ABI tuple ``createGatedTask`` takes."""
        return (
            domain_id(self.domain),
            self.allowlist_root,
            self.min_accepted,
            self.min_accuracy_bps,
            self.qualification_task_id,
            self.qualification_accuracy_bps,
        )


@dataclass(frozen=True)
class Rule:
    """A gated task's stored rule (``IQualifications.Rule``)."""

    reward_per_label: int
    batch_size: int
    min_accepted: int
    min_accuracy_bps: int
    qualification_task_id: int
    qualification_accuracy_bps: int
    domain: str
    allowlist_root: bytes

    @property
    def has_allowlist(self) -> bool:
        return self.allowlist_root != b"\0" * 32

    def describe(self) -> str:
        """The rule in words, for logs and the CLI."""
        parts: list[str] = []
        if self.has_allowlist:
            parts.append(f"allowlist 0x{self.allowlist_root.hex()[:12]}…")
        if self.min_accepted or self.min_accuracy_bps:
            parts.append(
                f"reputation in {self.domain or '(no domain)'}: accepted >= {self.min_accepted},"
                f" accuracy >= {self.min_accuracy_bps / BPS:.2%}"
            )
        if self.qualification_task_id:
            parts.append(
                f"qualification task {self.qualification_task_id}:"
                f" accuracy >= {self.qualification_accuracy_bps / BPS:.2%}"
            )
        return "; ".join(parts) or "no rule (any account)"


def read_reputation(gate: Contract, account: str, domain: str) -> Reputation:
    """``account``'s counters in ``domain``."""
    accepted, answered, tasks = gate.functions.reputationOf(account, domain_id(domain)).call()
    return Reputation(int(accepted), int(answered), int(tasks))


def read_rule(gate: Contract, task_id: int) -> Rule | None:
    """The rule of gated task ``task_id``, or None if the task is not gated."""
    raw = gate.functions.ruleOf(task_id).call()
    if int(raw[1]) == 0:  # a gated task is seated: its batch size is never 0
        return None
    return Rule(
        reward_per_label=int(raw[0]),
        batch_size=int(raw[1]),
        min_accepted=int(raw[2]),
        min_accuracy_bps=int(raw[3]),
        qualification_task_id=int(raw[4]),
        qualification_accuracy_bps=int(raw[5]),
        domain=domain_name(raw[6]),
        allowlist_root=bytes(raw[7]),
    )


def admission_refusal(
    gate: Contract, task_id: int, account: str, proof: Sequence[bytes] = ()
) -> ContractRevertError | None:
    """Why the gate would refuse ``account`` a seat on ``task_id`` (the revert naming the
    rule), or None if it admits it. The contract's ``checkAdmission`` is the one rule: this
    asks it rather than recomputing it."""
    try:
        gate.functions.checkAdmission(task_id, account, list(proof)).call()
    except ContractLogicError as exc:
        refusal = revert_from(exc)
        if refusal.name not in ADMISSION_ERRORS:
            raise refusal from exc
        return refusal
    return None


SignedSeat = tuple[str, int, list[bytes], int, bytes, bytes]
"""``IQualifications.SignedSeat``: annotator, deadline, allowlist proof, v, r, s."""


SEAT_CLAIM_DOMAIN = ("labelnet Qualifications", "1")
"""The gate's EIP-712 domain name and version (``Qualifications``' constructor)."""


def seat_claim_typed_data(
    gate: Contract, task_id: int, annotator: str, deadline: int
) -> SignableMessage:
    """The EIP-712 ``SeatClaim`` of ``annotator`` on ``task_id`` in the gate's domain, as
    ``eth_account``'s ``encode_typed_data`` takes it: the one definition the signer
    (:func:`sign_seat_claim`) and the relayer's check (:func:`seat_claim_signer`) share.
    Built here, never taken from the RPC, so a node cannot be made to sign anything else (a
    permit, say) in its place."""
    name, version = SEAT_CLAIM_DOMAIN
    return encode_typed_data(
        domain_data={
            "name": name,
            "version": version,
            "chainId": gate.w3.eth.chain_id,
            "verifyingContract": gate.address,
        },
        message_types={
            "SeatClaim": [
                {"name": "taskId", "type": "uint256"},
                {"name": "annotator", "type": "address"},
                {"name": "deadline", "type": "uint256"},
            ]
        },
        message_data={"taskId": task_id, "annotator": annotator, "deadline": deadline},
    )


def sign_seat_claim(
    annotator: LocalAccount,
    gate: Contract,
    task_id: int,
    deadline: int,
    proof: Sequence[bytes] = (),
) -> SignedSeat:
    """The annotator's EIP-712 ``SeatClaim`` for ``claimSeats``, which any relayer may send."""
    signed = annotator.sign_message(
        seat_claim_typed_data(gate, task_id, annotator.address, deadline)
    )
    return (
        annotator.address,
        deadline,
        list(proof),
        signed.v,
        signed.r.to_bytes(32, "big"),
        signed.s.to_bytes(32, "big"),
    )


def seat_claim_signer(gate: Contract, task_id: int, seat: SignedSeat) -> str | None:
    """The address that signed ``seat``'s ``SeatClaim`` on ``task_id`` (checksummed), or
    None if its signature is malformed: what the gate's ``ECDSA.recover`` will find, so a
    relayer checks a seat here before it can make a whole ``claimSeats`` revert."""
    annotator, deadline, _proof, v, r, s = seat
    try:
        return str(
            Account.recover_message(
                seat_claim_typed_data(gate, task_id, annotator, deadline),
                vrs=(v, int.from_bytes(r, "big"), int.from_bytes(s, "big")),
            )
        )
    except (ValueError, BadSignature) as exc:
        log.debug("task %s: unreadable seat signature for %s: %s", task_id, annotator, exc)
        return None
