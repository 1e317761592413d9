"""Posting the demo's task as its requester: the content (public, confidential or gated on a
qualification), the terms and windows, and the review round opened beside it.

Split from :mod:`client.demo.runner`, which runs the network and the phases; the task's
terms are here, where the task is built, and the report reads them from here too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from client.demo.errors import DemoError
from client.demo.phases import contracts_of, sender_of
from client.demo.progress import Progress
from client.demo.qualified import Qualification
from client.demo.review import REVIEW_TIME
from node.app.duties import task_key_vault
from node.chain.market import read_task
from node.chain.qualifications import Gate
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from node.roles.requester.gold import GoldSecrets
from node.roles.requester.posting import TaskRequest, TaskRequestError, create_task, publish_content
from node.roles.requester.task_keys import confidential_content
from node.store.embedded import EmbeddedStore

if TYPE_CHECKING:
    from client.demo.runner import DemoOptions, DemoRun

TOKEN = 10**18
REWARD_PER_LABEL = TOKEN // 100
VALIDATOR_FEE = 3 * TOKEN
VALIDATOR_STAKE = 10_000 * TOKEN
COMMIT_WINDOW = 3600
SEAT_WINDOW = 600
"""A seated task's seat window: the demo moves the clock past it once every seat is taken."""
MIN_LABEL_TIME = 600
"""The demo market's ``minLabelTime`` (the default, an hour, would not fit the commit window)."""
REVEAL_WINDOW = 1800
ATTEST_WINDOW = 1800


def post_task(
    run: DemoRun,
    items: tuple[str, ...],
    classes: tuple[str, ...],
    truth: dict[str, str],
    progress: Progress,
    qualification: Qualification | None = None,
) -> None:
    """The main task; gated on ``qualification`` if given, with one seat per account that
    passed it, each dealt every item."""
    options = run.options
    specs = [ItemSpec(id=item, data={"text": item_text(item, options)}) for item in items]
    if options.confidential:
        content = confidential_task_content(run, specs, classes)
    else:
        content = build_task_content(
            specs,
            title=f"Replay of {options.dataset}",
            instructions="Pick the class this item belongs to.",
            kind=TaskKind.CATEGORICAL,
            classes=classes,
            review=None if run.review is None else run.review.params,
        )
    gold = (
        GoldSet.create({item: truth[item] for item in items[:: options.gold_every]})
        if options.gold_every and not options.confidential
        else None
    )
    batch = (options.batch_size or len(items)) if options.seated else 0
    if qualification is None:
        post_content(run, content, gold, batch=batch, progress=progress)
    else:
        admitted = len(qualification.admitted)
        gate = qualification.gate()
        post_content(
            run, content, gold, batch=len(items), progress=progress, gate=gate, redundancy=admitted
        )
    if run.review is not None:
        assert run.task is not None
        contracts = contracts_of(run)
        assert contracts.review_board is not None
        requester = run.by_role("requester")[0]
        run.review.open(
            sender_of(run.devnet, "requester"),
            contracts.token,
            contracts.review_board,
            EmbeddedStore.in_data_dir(requester.data_dir),
            task_id=run.task.task_id,
            reveal_deadline=read_task(contracts.market, run.task.task_id).reveal_deadline,
            items=items,
            public_gold=frozenset(gold.as_dict()) if gold is not None else frozenset(),
            truth=truth,
            gold_schema=content.manifest.gold,
        )
        progress.note(
            f"review opened: {len(run.review.names)} reviewers, share {options.review_share}"
        )


CONFIDENTIAL_TEXT = "confidential record"
"""In every item text of a confidential demo task: tests look for it in what outsiders see."""


def item_text(item: str, options: DemoOptions) -> str:
    """The text the demo gives ``item`` (a replayed crowd answers by id, not by text)."""
    return f"{CONFIDENTIAL_TEXT} {item}" if options.confidential else f"item {item}"


def confidential_task_content(
    run: DemoRun, specs: list[ItemSpec], classes: tuple[str, ...]
) -> TaskContent:
    """Sealed content naming the validators (all but the unnamed ones); the task key goes
    where the requester node's key duty finds it."""
    options = run.options
    named = options.validators - options.unnamed_validators
    validators = [run.devnet.info.account(f"validator-{i + 1}").address for i in range(named)]
    requester = run.by_role("requester")[0]
    return confidential_content(
        specs,
        validators,
        task_key_vault(requester.data_dir),
        title=f"Confidential replay of {options.dataset}",
        instructions="Pick the class this item belongs to.",
        classes=classes,
    )


def post_content(
    run: DemoRun,
    content: TaskContent,
    gold: GoldSet | None,
    *,
    batch: int,
    progress: Progress,
    gate: Gate | None = None,
    redundancy: int | None = None,
) -> None:
    """Publish ``content`` in the requester's store and post its task (seated if ``batch``,
    through the market's gate under ``gate`` if given)."""
    options = run.options
    requester = run.by_role("requester")[0]
    now = int(run.devnet.w3.eth.get_block("latest")["timestamp"])
    labellers = options.annotators + options.spammers
    request = TaskRequest(
        content=content,
        algorithm=content.manifest.algorithm,
        reward_per_label=REWARD_PER_LABEL,
        redundancy=redundancy or options.redundancy or labellers,
        validator_fee=VALIDATOR_FEE,
        commit_deadline=now + COMMIT_WINDOW,
        reveal_deadline=now + COMMIT_WINDOW + REVEAL_WINDOW,
        attest_deadline=now
        + COMMIT_WINDOW
        + REVEAL_WINDOW
        + (REVIEW_TIME if run.review is not None else 0)
        + ATTEST_WINDOW,
        gold=gold,
        batch_size=batch,
        seat_deadline=now + SEAT_WINDOW if batch else 0,
        gate=gate,
    )
    run.started = time.monotonic()
    publish_content(EmbeddedStore.in_data_dir(requester.data_dir), content)
    secrets = GoldSecrets(requester.data_dir / "requester" / "gold")
    try:
        run.task = create_task(
            sender_of(run.devnet, "requester"), contracts_of(run), request, secrets
        )
    except TaskRequestError as exc:
        raise DemoError(
            f"the task was refused: {exc}. Give the demo more --items or a larger --batch-size, "
            "or post an open task with --no-seated"
        ) from exc
    classes = content.manifest.classes
    items = content.manifest.num_items
    progress.note(
        f"{'gated ' if gate is not None else ''}task {run.task.task_id} posted: {items} items, "
        f"{len(classes)} classes, "
        f"{0 if gold is None else len(gold.labels)} gold, "
        f"escrow {run.task.escrow / TOKEN:,.2f} LABEL"
        + (
            f", {run.task.seats} seats of {run.task.batch_size} items (least batch "
            f"{run.task.min_batch_size}), k = {request.redundancy}"
            if run.task.batch_size
            else ", open (no seats)"
        )
    )
