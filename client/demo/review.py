"""The demo's review round (issue #17 item 5, docs/review.md): validator nodes that review
with review programs, the requester's hidden review gold, and the round's figures.

``--reviewers judge:0.95,lazy,careless`` makes the first three validators reviewers
(``LABELNET_REVIEW=1``) with the review programs of :mod:`node.labelers.review`: ``judge:A``
votes the data set's gold at accuracy ``A`` (``gold:<gold.csv>:A``), ``lazy`` the current
consensus, ``careless`` at random. The task's manifest gets a ``review`` section; after posting,
the orchestrator (as the requester) opens the review on the ReviewBoard with a hidden review
gold of every other non-gold item, and reveals it once every reviewer has revealed. The
clock moves through the three review windows as the other phases do (when everyone is done).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from node.chain.review import open_review, read_review, read_seat, reveal_review_gold
from node.chain.tx import TxSender
from node.consensus.answers import Answers
from node.consensus.contested import contested_set
from node.consensus.numerics import argmax_lowest
from node.consensus.task import categorical_consensus
from node.protocol.commitments import gold_commitment
from node.protocol.gold import GoldSet
from node.protocol.review import ReviewParams, ReviewTerms, contested_cap
from node.store.base import ContentStore

TOKEN = 10**18
FEE_PER_VOTE = TOKEN // 100
"""``r``: 0.01 LABEL per vote, the replay's figure (BENCHMARKS.md)."""
SLASH_PER_VOTE = 3 * FEE_PER_VOTE
"""``s = 3r``: the smallest multiple under which a careless reviewer loses (docs/review.md §7)."""
REVIEW_WINDOW = 3600
"""Each review window: the ReviewBoard's least (``MIN_REVIEW_TIME``, an hour by default)."""
REVIEW_TIME = 3 * REVIEW_WINDOW
"""What the three windows add between the reveal and the attest deadlines."""
DEAD = "0x000000000000000000000000000000000000dEaD"
KINDS = ("judge", "lazy", "careless")


class ReviewSpecError(ValueError):
    """A ``--reviewers`` entry that names no reviewer kind."""


def reviewer_program(spec: str, gold_csv: Path, seed: int) -> str:
    """The ``review_program`` setting of one demo reviewer (module doc)."""
    kind, _, arg = spec.partition(":")
    if kind == "judge":
        try:
            accuracy = float(arg or "0.95")
        except ValueError as exc:
            raise ReviewSpecError(f"judge:<accuracy>, not {spec!r}") from exc
        return f"gold:{gold_csv}:{accuracy}:{seed}"
    if kind == "lazy" and not arg:
        return "consensus"
    if kind == "careless" and not arg:
        return f"random:{seed}"
    raise ReviewSpecError(f"a reviewer is judge[:<accuracy>], lazy or careless, not {spec!r}")


def write_gold_csv(path: Path, truth: Mapping[str, str]) -> Path:
    """The data set's known answers as ``item,label`` (what ``judge`` reviewers read)."""
    lines = ["item,label", *(f"{item},{label}" for item, label in sorted(truth.items()))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def review_params(reviewers: int, share: str) -> ReviewParams:
    return ReviewParams.create(
        FEE_PER_VOTE, SLASH_PER_VOTE, contested_share=share, max_reviewers=reviewers
    )


@dataclass
class ReviewRound:
    """The round as the orchestrator runs it: who reviews, the terms, the hidden gold."""

    names: tuple[str, ...]
    """The reviewer nodes' account names, in ``--reviewers`` order."""
    specs: tuple[str, ...]
    params: ReviewParams
    hidden: GoldSet | None = None
    salt: bytes = field(default_factory=lambda: os.urandom(32))
    cid: str = ""
    terms: ReviewTerms | None = None
    accounts: dict[str, str] = field(default_factory=dict)
    balances_before: dict[str, int] = field(default_factory=dict)
    opened_at_block: int = 0
    """The block before ``openReview``: where :func:`board_gas` starts reading."""

    def open(
        self,
        sender: TxSender,
        token: Contract,
        board: Contract,
        store: ContentStore,
        *,
        task_id: int,
        reveal_deadline: int,
        items: Sequence[str],
        public_gold: frozenset[str],
        truth: Mapping[str, str],
        gold_schema: str,
    ) -> None:
        """Publish the hidden review gold (every other item that is not public gold) in the
        requester's store and open the review with terms equal to the manifest's section."""
        hidden_items = [item for item in items if item not in public_gold and item in truth]
        self.hidden = GoldSet.create({item: truth[item] for item in hidden_items[::2]})
        self.cid = self.hidden.publish(gold_schema, store.put)
        self.terms = ReviewTerms(
            fee_per_vote=self.params.fee_per_vote,
            slash_per_vote=self.params.slash_per_vote,
            cap=contested_cap(len(items), self.params.contested_share_ppb),
            max_reviewers=self.params.max_reviewers,
            commit_deadline=reveal_deadline + REVIEW_WINDOW,
            reveal_deadline=reveal_deadline + 2 * REVIEW_WINDOW,
            gold_deadline=reveal_deadline + 3 * REVIEW_WINDOW,
            gold_commitment=gold_commitment(self.hidden.root(), self.salt),
        )
        self.balances_before = {name: _balance(token, a) for name, a in self.accounts.items()}
        self.opened_at_block = int(board.w3.eth.block_number)
        open_review(sender, token, board, task_id, self.terms)

    def drive(
        self,
        board: Contract,
        task_id: int,
        sender: TxSender,
        wait: Callable[[str, int, Callable[[], int]], None],
        warp: Callable[[int], None],
    ) -> None:
        """The three review windows: commits, reveals, then the hidden gold."""
        assert self.terms is not None and self.hidden is not None
        count = len(self.names)
        wait("review commit", count, lambda: _review(board, task_id)["reviewer_count"])
        warp(self.terms.commit_deadline + 1)
        wait("review reveal", count, lambda: _revealed(board, task_id))
        warp(self.terms.reveal_deadline + 1)
        reveal_review_gold(sender, board, task_id, self.hidden.root(), self.cid, self.salt)
        warp(self.terms.gold_deadline + 1)

    def settle(
        self, board: Contract, task_id: int, wait: Callable[[str, int, Callable[[], int]], None]
    ) -> None:
        """Every reviewer node settles its leaf; the last one finishes the review."""
        wait("review settle", len(self.names), lambda: _review(board, task_id)["settled_count"])
        wait("review finish", 1, lambda: int(_review(board, task_id)["finished"]))

    def summary(
        self, token: Contract, board: Contract, task_id: int, section: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The round's figures for the report: each reviewer's kind, counts and money (from
        the result's review section and the token balances), and what the board holds."""
        rows = {str(row["account"]).lower(): row for row in section.get("reviewers", [])}
        reviewers = []
        for name, spec in zip(self.names, self.specs, strict=True):
            account = self.accounts[name]
            row = rows.get(account.lower(), {})
            after = _balance(token, account)
            reviewers.append(
                {
                    "name": name,
                    "kind": spec.partition(":")[0],
                    "program": spec,
                    "account": account,
                    "eligible": bool(row.get("eligible", False)),
                    "coherent": int(row.get("coherent", 0)),
                    "incoherent": int(row.get("incoherent", 0)),
                    "checks": int(row.get("checks", 0)),
                    "checks_correct": int(row.get("checks_correct", 0)),
                    "pay": str(row.get("pay", "0")),
                    "slashed": str(row.get("slashed", "0")),
                    "net_change": str(after - self.balances_before[name]),
                }
            )
        return {
            "contested": int(section.get("contested", 0)),
            "hidden_gold_checks": int(section.get("hidden_gold_checks", 0)),
            "votes_bought": int(section.get("votes_bought", 0)),
            "burned": str(section.get("burned", "0")),
            "fee_per_vote": str(FEE_PER_VOTE),
            "slash_per_vote": str(SLASH_PER_VOTE),
            "reviewers": reviewers,
            "board_balance": str(_balance(token, board.address)),
            "finished": bool(_review(board, task_id)["finished"]),
            "gas": board_gas(board, self.opened_at_block),
        }


def board_gas(board: Contract, from_block: int) -> dict[str, dict[str, int]]:
    """Gas the chain charged for each ReviewBoard call since ``from_block``, read from the
    receipts (the transaction's whole ``gasUsed``, its 21,000 base included): per function,
    ``calls``, ``gas`` (the sum) and ``max`` (a call that reverted costs less than one that
    did the work, e.g. the losers of a race to send the permissionless ``finishReview``).
    Measured, not estimated: the demo's nodes sent these.

    The demo chain is small (a block per transaction), so every block is read."""
    w3 = board.w3
    target = Web3.to_checksum_address(board.address)
    gas: dict[str, dict[str, int]] = {}
    for number in range(from_block, int(w3.eth.block_number) + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if isinstance(tx, bytes) or tx.get("to") != target:
                continue
            function, _ = board.decode_function_input(tx["input"])
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            entry = gas.setdefault(str(function.fn_name), {"calls": 0, "gas": 0, "max": 0})
            entry["calls"] += 1
            entry["gas"] += int(receipt["gasUsed"])
            entry["max"] = max(entry["max"], int(receipt["gasUsed"]))
    return gas


def review_effect(
    answers: Answers,
    public_gold: Mapping[str, str],
    algorithm: str,
    bloc_test: str,
    params: ReviewParams,
    truth: Mapping[str, str],
    after: Mapping[str, str],
) -> dict[str, Any]:
    """Errors on the contested set before and after the review: the consensus the reviewers
    saw (the task's algorithm over the revealed batches and public gold, as validators run it
    first) against the published, reviewed one (``after``)."""
    fit = categorical_consensus(answers, public_gold, algorithm, bloc_test)
    contested = contested_set(fit, params)
    top = argmax_lowest(fit.probas_ppb)
    row = {item: n for n, item in enumerate(fit.answers.items)}
    before = {item: fit.answers.classes[int(top[row[item]])] for item in fit.answers.items}
    known = [item for item in contested if item in truth]
    return {
        "contested_items": list(contested),
        "contested_errors_before": sum(before[i] != truth[i] for i in known),
        "contested_errors_after": sum(after.get(i) != truth[i] for i in known),
        "before": before,
    }


def _balance(token: Contract, account: str) -> int:
    return int(token.functions.balanceOf(Web3.to_checksum_address(account)).call())


def _review(board: Contract, task_id: int) -> dict[str, int]:
    review = read_review(board, task_id)
    if review is None:
        return {"reviewer_count": 0, "settled_count": 0, "finished": 0}
    return {
        "reviewer_count": review.reviewer_count,
        "settled_count": review.settled_count,
        "finished": int(review.finished),
    }


def _revealed(board: Contract, task_id: int) -> int:
    return sum(
        1
        for account in board.functions.reviewersOf(task_id).call()
        if read_seat(board, task_id, account).revealed
    )
