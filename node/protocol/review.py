"""The review round's bytes (docs/review.md): the task's review parameters as its manifest
states them, a reviewer's vote commitment, and the rule that says whether a revealed vote
batch is a valid reveal.

A reviewer's votes are published as an ordinary label batch (``labelnet/labels@2``, read by
:func:`node.protocol.labels.read_batch`, rooted by the same Merkle tree over
:func:`node.protocol.labels.label_leaf`): a vote is an (item, class) pair exactly as a label
is, so the format, its pages, its reader and its proofs are written once. Only the
commitment differs, by a domain tag, so a label commitment can never be replayed as a vote
commitment (or the reverse) even by the same account on the same task.

The computations over votes (the reviewed answer, pay and slashing) are
:mod:`node.consensus.review`; the contested set is :mod:`node.consensus.contested`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.ids import CONTESTED_RULE, REVIEW_RULE
from node.protocol.labels import LabelBatch
from node.protocol.merkle import REVIEW_LEAF_TAG
from node.protocol.rules import PPB, Ratio, ppb_text, ratio_ppb
from node.protocol.values import categorical_value

if TYPE_CHECKING:
    from node.protocol.manifest import ItemSpec, Manifest

REVIEW_TAG = REVIEW_RULE.encode("ascii").ljust(32, b"\0")
"""The commitment's domain tag: ``bytes32("review@1")``, as Solidity stores the literal."""

MAX_REVIEWERS = 32
"""The most reviewer seats a task may ask for: the contract settles every reviewer inside
``finalize`` (docs/review.md §6), so the count must be bounded."""

DEFAULT_CONTESTED_SHARE = "0.1"
"""The issue's bound on the share of items reviewed (and the default a requester gets)."""
DEFAULT_CONTESTED_BELOW = "1"
"""Items whose consensus posterior is under this are candidates. The default, 1, takes every
item short of certainty, so the contested set is the least sure ``contested_share`` of the
task: the share the requester pays for is filled. EM posteriors are overconfident in general
(they ignore the uncertainty of the estimated skills), so a threshold such as the reward
rule's 0.8 leaves most errors out (zheng_d_product: 156 of 531 under 0.8, 219 in the least
sure 10%); a requester may still lower it to review only items the task calls not confident
(BENCHMARKS.md, "Review (issue #17)", has both)."""
DEFAULT_GOLD_FLOOR = "0.8"
"""The share of hidden gold checks a reviewer must get right to be paid: the default
confidence threshold, i.e. a reviewer must be as sure as a consensus must be to count."""


@dataclass(frozen=True)
class ReviewParams:
    """A reviewed task's review parameters (manifest ``review``; amounts in the token's
    smallest unit, ratios in parts per billion)."""

    fee_per_vote: int
    """``r``: what the requester pays per revealed vote (per contested item per reviewer)."""
    slash_per_vote: int
    """``s``: locked per contested item at commit, lost per vote against the reviewed answer."""
    contested_share_ppb: int = 100_000_000
    contested_below_ppb: int = 800_000_000
    gold_floor_ppb: int = 800_000_000
    max_reviewers: int = 7

    @classmethod
    def create(
        cls,
        fee_per_vote: int,
        slash_per_vote: int,
        contested_share: Ratio = DEFAULT_CONTESTED_SHARE,
        contested_below: Ratio = DEFAULT_CONTESTED_BELOW,
        gold_floor: Ratio = DEFAULT_GOLD_FLOOR,
        max_reviewers: int = 7,
    ) -> ReviewParams:
        for name, amount in (("fee_per_vote", fee_per_vote), ("slash_per_vote", slash_per_vote)):
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise InvalidParameterError(f"{name} must be a positive int, got {amount!r}")
        if (
            isinstance(max_reviewers, bool)
            or not isinstance(max_reviewers, int)
            or not 1 <= max_reviewers <= MAX_REVIEWERS
        ):
            raise InvalidParameterError(
                f"max_reviewers must be an int in [1, {MAX_REVIEWERS}], got {max_reviewers!r}"
            )
        return cls(
            fee_per_vote=fee_per_vote,
            slash_per_vote=slash_per_vote,
            contested_share_ppb=ratio_ppb(contested_share, "contested_share"),
            contested_below_ppb=ratio_ppb(contested_below, "contested_below"),
            gold_floor_ppb=ratio_ppb(gold_floor, "gold_floor"),
            max_reviewers=max_reviewers,
        )

    def document(self) -> dict[str, str | int]:
        """The manifest's ``review`` section (restated in the result): decimal strings for
        amounts and ratios, as the reward parameters are written."""
        return {
            "rule": REVIEW_RULE,
            "contested": CONTESTED_RULE,
            "contested_share": ppb_text(self.contested_share_ppb),
            "contested_below": ppb_text(self.contested_below_ppb),
            "fee_per_vote": str(self.fee_per_vote),
            "slash_per_vote": str(self.slash_per_vote),
            "gold_floor": ppb_text(self.gold_floor_ppb),
            "max_reviewers": self.max_reviewers,
        }

    @classmethod
    def from_document(cls, section: Mapping[str, JsonValue]) -> ReviewParams:
        """The parameters a manifest's ``review`` section states; unknown rule ids refused
        (a node must not run a review rule it does not implement)."""
        if section.get("rule") != REVIEW_RULE or section.get("contested") != CONTESTED_RULE:
            raise InvalidParameterError(
                f"unknown review rules {section.get('rule')!r}/{section.get('contested')!r}"
            )
        try:
            fee, slash = str(section["fee_per_vote"]), str(section["slash_per_vote"])
            share, floor = section["contested_share"], section["gold_floor"]
            below = section["contested_below"]
            seats = section["max_reviewers"]
        except KeyError as exc:
            raise InvalidParameterError(f"review section lacks {exc}") from exc
        if not (_canonical_amount(fee) and _canonical_amount(slash)) or not isinstance(seats, int):
            raise InvalidParameterError("review amounts must be decimal strings, seats an int")
        if not all(isinstance(ratio, str) for ratio in (share, below, floor)):
            raise InvalidParameterError("review ratios must be decimal strings")
        return cls.create(int(fee), int(slash), str(share), str(below), str(floor), seats)

    def lock(self, contested: int) -> int:
        """Stake a reviewer locks at commit for a set of ``contested`` items: ``s`` per vote,
        which is also what committing and never revealing costs."""
        return contested * self.slash_per_vote

    def fee_escrow(self, items: int) -> int:
        """What the requester escrows at creation for a task of ``items`` items: the most
        votes the round can buy (the contested cap times the reviewer seats) at ``r``."""
        return (
            contested_cap(items, self.contested_share_ppb) * self.max_reviewers * self.fee_per_vote
        )


def _canonical_amount(text: str) -> bool:
    """Whether ``text`` is an amount as :meth:`ReviewParams.document` writes it (ASCII
    digits, no sign, no leading zero), so a parsed section writes back the same bytes."""
    return text.isascii() and text.isdigit() and str(int(text)) == text


def contested_cap(items: int, share_ppb: int) -> int:
    """The most items ``contested@1`` names: ``floor(share · items)``, exactly in integers."""
    return items * share_ppb // PPB


def review_commitment(task_id: int, reviewer: str, votes_root: bytes, salt: bytes) -> bytes:
    """``keccak256(abi.encode(bytes32("review@1"), taskId, reviewer, votesRoot, salt))``.

    As the label commitment, bound to the task and the account (nobody can copy another's
    commitment) with a secret salt (nobody can guess the votes from the root), plus the tag
    that keeps it apart from label commitments. The node records it before sending it, as
    it records a label commitment's intent, so a crash between the two loses nothing.
    """
    return keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "bytes32", "bytes32"],
            [REVIEW_TAG, task_id, to_checksum_address(reviewer), votes_root, salt],
        )
    )


def vote_batch(task_id: int, reviewer: str, votes: Mapping[str, str]) -> LabelBatch:
    """A reviewer's votes as the label batch it publishes (and whose root it commits)."""
    return LabelBatch.create(task_id, reviewer, votes.items())


def valid_votes(
    batch: LabelBatch, task_id: int, contested: Sequence[str], classes: Sequence[str]
) -> dict[str, str] | None:
    """The votes of a revealed batch, or ``None`` if the reveal is not valid.

    One rule: a valid reveal votes exactly once on every contested item, each vote one of the
    task's classes. Anything else (a missing item, an extra item, an unknown class, another
    task) counts as no reveal, and is slashed as one: partial reveals would let a reviewer
    vote only where it copied with confidence.
    """
    if batch.task_id != task_id or len(batch.labels) != len(contested):
        return None
    allowed = set(classes)
    votes: dict[str, str] = {}
    for (item, value), expected in zip(batch.labels, sorted(contested), strict=True):
        try:
            vote = categorical_value(value)
        except InvalidAnswersError:
            return None
        if item != expected or vote not in allowed:
            return None
        votes[item] = vote
    return votes


_U96 = (1 << 96) - 1
_U32 = (1 << 32) - 1


def review_leaf_amount(pay: int, slashed: int, votes: int) -> int:
    """A reviewer's review leaf amount in the task's payout tree:
    ``REVIEW_LEAF_TAG | votes << 192 | slashed << 96 | pay`` (ReviewBoard.reviewLeafAmount).

    ``pay`` is what the board sends the reviewer besides its bond, ``slashed`` what it keeps
    of the bond, ``votes`` the votes the requester pays ``r`` for (the contested count if the
    reveal was valid, else 0): the board refunds the requester ``escrow - votes · r`` summed
    over leaves, so a slash or a burned remainder never reaches it. Pay and slash fit 96 bits
    (the board's escrow and bonds do), votes 32 (the cap is a ``uint32``).
    """
    if not (0 <= pay <= _U96 and 0 <= slashed <= _U96 and 0 <= votes <= _U32):
        raise InvalidParameterError(f"review leaf out of range: {pay}, {slashed}, {votes}")
    return REVIEW_LEAF_TAG | votes << 192 | slashed << 96 | pay


def read_review_leaf(amount: int) -> tuple[int, int, int] | None:
    """``(pay, slashed, votes)`` of a review leaf amount, ``None`` if it is a market leaf."""
    if not amount & REVIEW_LEAF_TAG or amount >> 224 != 1 << 31:
        return None
    return amount & _U96, amount >> 96 & _U96, amount >> 192 & _U32


@dataclass(frozen=True)
class ReviewTerms:
    """The terms a requester opened a review with on the ReviewBoard (``openReview``)."""

    fee_per_vote: int
    slash_per_vote: int
    cap: int
    max_reviewers: int
    commit_deadline: int
    reveal_deadline: int
    gold_deadline: int
    gold_commitment: bytes

    def matches(self, params: ReviewParams, items: int) -> bool:
        """Whether the board's terms are the manifest's ``review`` section for a task of
        ``items`` items. A task is reviewed iff its manifest has a ``review`` section AND
        ``openReview`` happened with matching terms; otherwise nodes run it without review
        (docs/review.md §6), so a requester cannot pay less than its manifest promises."""
        return (
            self.fee_per_vote == params.fee_per_vote
            and self.slash_per_vote == params.slash_per_vote
            and self.cap == contested_cap(items, params.contested_share_ppb)
            and self.max_reviewers == params.max_reviewers
        )


@dataclass(frozen=True)
class ContestedItem:
    """One contested item as the reviewer sees it."""

    item: ItemSpec
    labels: Mapping[str, tuple[str, ...]]
    """Each class given to the item -> the annotators (lowercase addresses) who gave it, in
    the consensus input: revealed labels after the drop rules."""
    consensus: str
    """The current consensus answer (argmax of the posterior, ties to the first class)."""
    posterior: str
    """Its posterior, a nine-decimal string (the ppb integer the rule compared)."""


@dataclass(frozen=True)
class ContestedSet:
    """A reviewed task's contested set and what the page shows of it."""

    task_id: int
    manifest: Manifest
    items: tuple[ContestedItem, ...]
    """Sorted by item id, the order votes are published in."""
    consensus_items: int
    batches_used: int
    batches_dropped: int

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(entry.item.id for entry in self.items)
