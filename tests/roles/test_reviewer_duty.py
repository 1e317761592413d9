"""The reviewer duty commits and reveals on a real anvil, and survives kill -9.

Each crash test runs the duty in a child process (``tests/roles/reviewer_child.py``) that
``node.faults.crash_point`` kills with SIGKILL at a named moment; a fresh duty over the same
database and chain then finishes the round. The vote commitment is recorded before it is
sent, so a reviewer killed after recording sends exactly that commitment on restart, and one
killed after sending neither sends a second bond nor loses its seat.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.contracts import Contracts, Deployment
from node.chain.review import bond_of, open_review, read_review, read_seat
from node.db.engine import open_database
from node.db.models import ReviewState
from node.db.repositories.review import ReviewIntentRepository
from node.faults import CRASH_ENV
from node.protocol.commitments import gold_commitment, label_commitment
from node.protocol.labels import read_batch
from node.protocol.review import valid_votes
from node.roles.reviewer import ReviewerDuty
from tests.chain.test_review_board import (
    HOUR,
    TOKEN,
    balance,
    create_task,
    fund,
    review_terms,
    send,
    stake,
)
from tests.conftest import Actors, advance_time
from tests.roles.reviewer_child import build_duty

ROOT = Path(__file__).resolve().parents[2]
VOTES = {"i03": "cat", "i07": "dog"}


@dataclass
class Setup:
    task_id: int
    config: dict[str, object]
    reviewer: LocalAccount


@pytest.fixture
def setup(
    tmp_path: Path,
    w3: Web3,
    deployment: Deployment,
    contracts: Contracts,
    actors: Actors,
    anvil: object,
) -> Setup:
    """A reviewed task whose annotator revealed, at the start of the review commit window,
    and the reviewer node's configuration (its own database and store)."""
    assert contracts.review_board is not None and deployment.review_board is not None
    reviewer = actors.validator_3
    stake(w3, contracts, actors, reviewer, 1_000 * TOKEN)
    fund(w3, contracts, actors, reviewer.address, TOKEN)
    task_id, reveal = create_task(w3, contracts, actors)
    terms = review_terms(reveal, gold_commitment(os.urandom(32), os.urandom(32)))
    open_review(send(w3, actors.requester), contracts.token, contracts.review_board, task_id, terms)
    root, salt = os.urandom(32), os.urandom(32)
    annotator = send(w3, actors.annotator_a)
    annotator.transact(
        contracts.market.functions.commit(
            task_id, label_commitment(task_id, actors.annotator_a.address, root, salt)
        )
    )
    advance_time(w3, HOUR + 1)
    annotator.transact(contracts.market.functions.reveal(task_id, root, "bafkreilabels", salt))
    advance_time(w3, HOUR)
    config: dict[str, object] = {
        "rpc": w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "key": reviewer.key.hex(),
        "market": deployment.market,
        "board": deployment.review_board,
        "token": deployment.token,
        "chain_id": deployment.chain_id,
        "db": f"sqlite:///{tmp_path / 'reviewer.db'}",
        "store": str(tmp_path / "store"),
        "task_id": task_id,
        "votes": VOTES,
    }
    return Setup(task_id, config, reviewer)


def run_child(config: dict[str, object], crash_at: str) -> int:
    """One tick of the duty in its own process, killed at ``crash_at``."""
    env = {**os.environ, CRASH_ENV: crash_at}
    child = subprocess.run(
        [sys.executable, "-m", "tests.roles.reviewer_child", json.dumps(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return child.returncode


def recorded(
    config: dict[str, object], task_id: int, reviewer: str
) -> tuple[str, str | None, ReviewState]:
    db = open_database(url=str(config["db"]))
    with db.session() as session:
        row = ReviewIntentRepository(session).get(int(str(config["chain_id"])), task_id, reviewer)
    assert row is not None
    return row.commitment, row.commit_tx_hash, row.state


def finish_round(w3: Web3, contracts: Contracts, s: Setup, duty: ReviewerDuty) -> None:
    """After the commit deadline the duty reveals the recorded votes, published first."""
    board = contracts.review_board
    assert board is not None
    review = read_review(board, s.task_id)
    assert review is not None
    advance_time(w3, review.terms.commit_deadline - w3.eth.get_block("latest")["timestamp"] + 1)
    duty.tick()
    seat = read_seat(board, s.task_id, s.reviewer.address)
    assert seat.revealed
    duty.tick()  # the seat's revealed flag ends the row
    assert recorded(s.config, s.task_id, s.reviewer.address)[2] is ReviewState.REVEALED
    (event,) = board.events.ReviewRevealed().get_logs(from_block=0)
    fetch = partial(duty.store.get, max_size=1 << 20)
    batch = read_batch(
        fetch(event.args.votesCid),
        fetch,
        task_id=s.task_id,
        annotator=s.reviewer.address,
        labels_root=bytes(event.args.votesRoot),
    )
    assert valid_votes(batch, s.task_id, sorted(VOTES), ["cat", "dog"]) == VOTES


def test_commit_then_reveal(w3: Web3, contracts: Contracts, setup: Setup) -> None:
    board = contracts.review_board
    assert board is not None
    duty = build_duty(setup.config)
    before = balance(contracts, setup.reviewer.address)
    duty.tick()
    commitment, tx_hash, state = recorded(setup.config, setup.task_id, setup.reviewer.address)
    assert tx_hash is not None and state is ReviewState.INTENT  # sent, not seen yet
    duty.tick()  # the board's seat shows the commitment: nothing is sent again
    assert recorded(setup.config, setup.task_id, setup.reviewer.address)[1:] == (
        tx_hash,
        ReviewState.COMMITTED,
    )
    assert bytes(read_seat(board, setup.task_id, setup.reviewer.address).commitment).hex() == (
        commitment.removeprefix("0x")
    )
    review = read_review(board, setup.task_id)
    assert review is not None
    assert balance(contracts, setup.reviewer.address) == before - bond_of(review.terms)
    finish_round(w3, contracts, setup, duty)


@pytest.mark.parametrize("crash_at", ["after-review-intent", "after-review-commit-submit"])
def test_kill_9_during_commit_loses_nothing_and_pays_one_bond(
    w3: Web3, contracts: Contracts, setup: Setup, crash_at: str
) -> None:
    board = contracts.review_board
    assert board is not None
    before = balance(contracts, setup.reviewer.address)
    assert run_child(setup.config, crash_at) == -signal.SIGKILL
    commitment, tx_hash, _ = recorded(setup.config, setup.task_id, setup.reviewer.address)
    assert tx_hash is None  # killed before the hash was recorded
    on_chain = bytes(read_seat(board, setup.task_id, setup.reviewer.address).commitment)
    sent = crash_at == "after-review-commit-submit"
    assert on_chain == (bytes.fromhex(commitment.removeprefix("0x")) if sent else bytes(32))

    duty = build_duty(setup.config)  # the restarted node
    duty.tick()
    seat = read_seat(board, setup.task_id, setup.reviewer.address)
    assert bytes(seat.commitment) == bytes.fromhex(commitment.removeprefix("0x"))
    review = read_review(board, setup.task_id)
    assert review is not None and review.reviewer_count == 1
    assert balance(contracts, setup.reviewer.address) == before - bond_of(review.terms)
    finish_round(w3, contracts, setup, duty)
