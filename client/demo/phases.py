"""The demo's phase driver: watch a posted task on the devnet through its phases, moving
the chain's clock to each deadline as soon as every participant is done with the phase
(see :mod:`client.demo.runner`, "The devnet clock"). Split from the runner, which posts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from web3.contract import Contract

from client.demo.errors import DemoError
from client.demo.inspect import read_skip_reason
from client.demo.progress import Progress
from client.demo.qualified import seat_decisions
from client.devnet import Devnet
from node.app.chain import load_deployment
from node.chain.contracts import Contracts, bind
from node.chain.devchain import DevChain
from node.chain.market import TaskStatus, read_task
from node.chain.tx import TxSender
from node.keys import load_keystore
from node.protocol.deal import SEAL_DELAY

if TYPE_CHECKING:
    from client.demo.runner import DemoRun, PhaseHook

FINALITY_DEPTH = 1
"""Blocks the demo's nodes wait on top of a seal block (a devnet does not reorganise)."""


def sender_of(devnet: Devnet, name: str) -> TxSender:
    """A sender for the devnet account ``name``."""
    password = devnet.info.password_file.read_text().rstrip("\n")
    account = load_keystore(devnet.info.account(name).keystore, password)
    return TxSender(devnet.w3, account)


def contracts_of(run: DemoRun) -> Contracts:
    """The deployment's contracts, bound to the devnet."""
    return bind(run.devnet.w3, load_deployment(run.devnet.info.deployment_file))


def warp(chain: DevChain, timestamp: int) -> None:
    """Move the chain's clock to ``timestamp`` (if it is not there yet) and mine a block."""
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    if now < timestamp:
        chain.set_next_timestamp(timestamp)
    chain.mine()


def drive(
    run: DemoRun, progress: Progress, on_poll: PhaseHook | None = None, *, gated: bool = False
) -> None:
    """Watch the task through its phases, moving the devnet clock when a phase is done. On a
    ``gated`` task the seat window also stays open until every labelling node has decided
    (seated, or said why not), as a real window of minutes would let it."""
    assert run.task is not None
    market = contracts_of(run).market
    task_id = run.task.task_id
    chain = run.devnet.chain
    labellers = run.options.annotators + run.options.spammers
    validators = run.options.validators - (
        run.options.unnamed_validators if run.options.confidential else 0
    )

    def wait(phase: str, total: int, count: Callable[[], int]) -> None:
        deadline = time.monotonic() + run.options.phase_timeout
        with progress.phase(phase, total) as update:
            while True:
                done = count()
                if on_poll is not None:
                    on_poll(run, phase, done, total)
                if done >= total:
                    break
                update(done)
                for node in run.nodes:
                    node.check_alive()
                if time.monotonic() > deadline:
                    raise DemoError(f"{phase}: {done}/{total} after {run.options.phase_timeout}s")
                time.sleep(0.2)
            update(total)
        run.timings[phase] = time.monotonic() - run.started

    state = read_task(market, task_id)
    committers = labellers
    if state.seated:
        committers = min(labellers, state.seat_limit)
        wait("seats", committers, lambda: read_task(market, task_id).seat_count)
        if gated:
            wait("admission", labellers, lambda: seat_decisions(run, market, task_id))
        # The seal: the first block after the seat deadline and its delay, then the
        # finality depth the nodes wait for on top of it.
        warp(chain, state.seat_deadline + SEAL_DELAY + 1)
        for _ in range(FINALITY_DEPTH):
            chain.mine()
    wait("commit", committers, lambda: _commits(market, task_id, state.seated))
    warp(chain, state.commit_deadline + 1)
    gold = int(any(state.gold_commitment))  # a task without gold has nothing to reveal
    wait("reveal", committers + gold, lambda: _reveals(market, task_id))
    warp(chain, state.reveal_deadline + 1)
    board = contracts_of(run).review_board
    if run.review is not None:
        assert board is not None
        run.review.drive(
            board, task_id, sender_of(run.devnet, "requester"), wait, lambda t: warp(chain, t)
        )
    wait("attest", validators, lambda: _attestations(run, market, task_id))
    warp(chain, state.attest_deadline + 1)
    wait("finalize", 1, lambda: int(read_task(market, task_id).status is not TaskStatus.OPEN))
    final = read_task(market, task_id)
    if final.status is not TaskStatus.FINALIZED:
        raise DemoError(f"task {task_id} ended {final.status.name}, not FINALIZED")
    # Progress in percent of the attested total: amounts are too large for a bar.
    if final.total_payout:
        total = final.total_payout
        wait("claim", 100, lambda: read_task(market, task_id).paid_out * 100 // total)
    run.timings["claimed"] = time.monotonic() - run.started
    if run.review is not None:
        assert board is not None
        run.review.settle(board, task_id, wait)
    requester = sender_of(run.devnet, "requester")
    # Market v2 pushes the refund as the task ends (finalize); a v1 market waits for refund().
    if not read_task(market, task_id).refunded:
        requester.transact(market.functions.refund(task_id))


def _attestations(run: DemoRun, market: Contract, task_id: int) -> int:
    """Attestations so far; raises :class:`DemoError` at once when every validator has
    decided not to attest, rather than waiting out the phase timeout for votes that will
    never come (the task would end disputed and be refunded)."""
    count = read_task(market, task_id).attest_count
    if count:
        return count
    chain_id = int(run.devnet.w3.eth.chain_id)
    reasons = []
    for node in run.by_role("validator"):
        address = run.devnet.info.account(node.name).address
        reason = read_skip_reason(node.data_dir, chain_id, task_id, address)
        if reason is None:
            return count
        reasons.append(f"{node.name}: {reason}")
    raise DemoError(
        "attest: no validator attests, so the task will end disputed and be refunded ("
        + "; ".join(reasons)
        + "). With few items per annotator nobody can show skill beyond chance under the "
        "reward rule's evidence test: give the demo more --items"
    )


def _commits(market: Contract, task_id: int, seated: bool) -> int:
    """Annotators committed so far: a seated task does not count them on chain (its seats
    hold the count), so its ``LabelsCommitted`` events are."""
    if not seated:
        return read_task(market, task_id).commit_count
    events = market.events.LabelsCommitted().get_logs(
        from_block=0, argument_filters={"taskId": task_id}
    )
    return len({str(event["args"]["annotator"]) for event in events})


def _reveals(market: Contract, task_id: int) -> int:
    state = read_task(market, task_id)
    return state.reveal_count + int(state.gold_revealed)
