"""Which background duties a node runs for its role.

Duties need a chain and an account: a node without either runs none (it still serves its
API and gateway). Role modules are imported here, lazily, so a gateway-only node never
loads the annotator's or validator's code. Every role announces its gateway, because every
role serves content others need: the requester its task content, annotators their revealed
batches, validators their result documents.

- annotator: join tasks and load their content, claim a seat of a seated task, hand items
  (a seat's dealt items on a seated task) to the labeling program (if one is configured),
  commit and reveal, claim payouts; and, unless ``liveness`` is off, settle the tasks it
  revealed in that nobody settles (finalize them, vote in round 2 if its account is staked);
- validator: verify, run consensus, publish, attest, finalize;
- requester: reveal gold answers in their window, finish its tasks' reviews when due,
  wrap each confidential task's key to its named validators and seated annotators, and,
  unless ``relay`` is off, relay its gated tasks' signed seat claims (one ``claimSeats``)
  and their payouts (one ``claimFor``; docs/qualification.md, "Relays").

With ``relay`` on, an annotator offers its signed seat claim of a gated task to the task's
requester node and leaves a gated task's payout to that node's ``claimFor`` for a grace
period, claiming itself when the relay does not come.

A validator with ``review`` on also reviews: it commits and reveals votes on reviewed
tasks' contested items (:mod:`node.roles.reviewer`).

Every node with an account announces its encryption key and holds a
:class:`~node.roles.confidential.Keyring`, through which the loader, the annotator and the
validator read and write confidential content (docs/confidential.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from node.app.errors import DeploymentError
from node.app.runtime import NodeServices
from node.roles.base import Duty

if TYPE_CHECKING:
    from node.roles.confidential import Keyring
    from node.roles.requester.task_keys import TaskKeyVault
    from node.roles.review_settlement import RequesterReviewFinisher
    from node.roles.seat_offer import SeatOffers

log = logging.getLogger(__name__)


def role_duties(services: NodeServices) -> list[Duty]:
    """The duties of ``services.settings.role`` (a :data:`~node.app.runtime.DutyFactory`)."""
    role = services.settings.role
    chain, sender = services.chain, services.sender
    if chain is None or sender is None:
        if role in ("annotator", "validator", "requester"):
            log.warning("%s node without %s: no duties run", role, _missing(services))
        return []
    from node.roles.gateway import GatewayAnnouncer

    duties: list[Duty] = [
        GatewayAnnouncer(
            registry=chain.contracts.registry, sender=sender, url=services.settings.gateway_url
        )
    ]
    if services.encryption_key is not None:
        from node.roles.keys import KeyAnnouncer

        duties.append(
            KeyAnnouncer(
                registry=chain.contracts.registry,
                sender=sender,
                public_key=services.encryption_key.public_key,
            )
        )
    keyring = services.keyring()
    assert keyring is not None  # a chain and a sender: checked above
    if role == "annotator":
        duties += _annotator(services, keyring)
    elif role == "validator":
        from node.roles.validator import ValidatorDuty

        assert services.assigner is not None  # built with the chain
        duties.append(
            ValidatorDuty(
                assigner=services.assigner,
                db=services.db,
                store=services.store,
                market=chain.contracts.market,
                staking=chain.contracts.staking,
                sender=sender,
                chain_id=services.chain_id,
                finalize_early=services.settings.finalize_early,
                adversary=services.settings.adversary,
                keyring=keyring,
                board=chain.contracts.review_board,
                events_from_block=chain.deployment.start_block,
            )
        )
        if services.settings.review:
            duties += _reviewer(services)
    elif role == "requester":
        from node.roles.requester.duty import RequesterDuty
        from node.roles.requester.gold import GoldSecrets

        duties.append(
            RequesterDuty(
                db=services.db,
                store=services.store,
                market=chain.contracts.market,
                sender=sender,
                chain_id=services.chain_id,
                secrets=GoldSecrets(services.settings.data_dir / "requester" / "gold"),
                review_finisher=_review_finisher(services),
            )
        )
        duties += _relays(services)
        if chain.contracts.task_keys is not None:
            from node.roles.requester.task_keys import KeyPublisher

            assert services.assigner is not None  # built with the chain
            duties.append(
                KeyPublisher(
                    db=services.db,
                    store=services.store,
                    keyring=keyring,
                    task_keys=chain.contracts.task_keys,
                    sender=sender,
                    chain_id=services.chain_id,
                    vault=task_key_vault(services.settings.data_dir),
                    assigner=services.assigner,
                )
            )
    return duties


def task_key_vault(data_dir: Path) -> TaskKeyVault:
    """Where a requester node keeps its confidential tasks' keys (the rule is the requester's:
    :func:`node.roles.requester.task_keys.task_key_vault`)."""
    from node.roles.requester.task_keys import task_key_vault as vault

    return vault(data_dir)


def chain_clock(services: NodeServices) -> Callable[[], int]:
    """The latest block's timestamp: deadlines are judged by the chain, not the local clock."""
    assert services.chain is not None
    w3 = services.chain.w3
    return lambda: int(w3.eth.get_block("latest")["timestamp"])


def _annotator(services: NodeServices, keyring: Keyring) -> list[Duty]:
    from node.labelers.base import load_labeler
    from node.roles.annotator import AnnotatorDuty, CommitPolicy
    from node.roles.claimer import ClaimDuty
    from node.roles.labeling import LabelingDuty
    from node.roles.loader import TaskLoader
    from node.roles.seats import SeatDuty

    assert services.chain is not None and services.sender is not None
    settings, market = services.settings, services.chain.contracts.market
    duties: list[Duty] = [
        TaskLoader(
            db=services.db,
            store=services.store,
            chain_id=services.chain_id,
            max_bond=settings.max_bond,
            max_task_media_bytes=settings.max_task_media_bytes,
            min_reward_per_mib=settings.min_reward_per_mib,
            disk_reserve=settings.disk_reserve_bytes,
            data_dir=settings.data_dir,
            clock=chain_clock(services),
            keyring=keyring,
        )
    ]
    assert services.assigner is not None  # built with the chain
    duties.append(
        SeatDuty(
            db=services.db,
            market=market,
            token=services.chain.contracts.token,
            sender=services.sender,
            chain_id=services.chain_id,
            assigner=services.assigner,
            clock=chain_clock(services),
            gate=services.chain.contracts.qualifications,
            store=services.store,
            offers=_seat_offers(services),
        )
    )
    if settings.labeler is not None:
        duties.append(
            LabelingDuty(
                db=services.db,
                store=services.store,
                chain_id=services.chain_id,
                annotator=services.sender.address,
                labeler=load_labeler(settings.labeler),
                batch=settings.labeler_batch,
                clock=chain_clock(services),
                assigner=services.assigner,
            )
        )
    duties.append(
        AnnotatorDuty(
            db=services.db,
            store=services.store,
            market=market,
            sender=services.sender,
            chain_id=services.chain_id,
            policy=CommitPolicy(grace=settings.commit_grace),
            assigner=services.assigner,
            keyring=keyring,
        )
    )
    if settings.liveness:
        from node.roles.liveness import LivenessDuty

        duties.append(
            LivenessDuty(
                db=services.db,
                store=services.store,
                market=market,
                staking=services.chain.contracts.staking,
                sender=services.sender,
                chain_id=services.chain_id,
                assigner=services.assigner,
                keyring=keyring,
                # A reviewed task's result includes its review round: the same inputs as
                # the validators', or this node's root would differ from theirs.
                board=services.chain.contracts.review_board,
                events_from_block=services.chain.deployment.start_block,
            )
        )
    if settings.auto_claim:
        duties.append(
            ClaimDuty(
                db=services.db,
                store=services.store,
                market=market,
                sender=services.sender,
                chain_id=services.chain_id,
                gate=services.chain.contracts.qualifications if settings.relay else None,
            )
        )
    return duties


def _seat_offers(services: NodeServices) -> SeatOffers | None:
    """Where an annotator offers its gated tasks' signed seat claims (None: ``relay`` off or
    no gate, so it claims its seats itself)."""
    from node.roles.seat_offer import SeatOffers

    chain = services.chain
    assert chain is not None
    if not services.settings.relay or chain.contracts.qualifications is None:
        return None
    return SeatOffers(
        chain.contracts.registry,
        allow_private=services.settings.allow_private_peers,
        from_block=chain.deployment.start_block,
    )


def _relays(services: NodeServices) -> list[Duty]:
    """A requester's relays of its gated tasks: seats in one ``claimSeats``, payouts in one
    ``claimFor`` per task (none with ``relay`` off or without a gate)."""
    from node.roles.claim_relay import ClaimRelayDuty
    from node.roles.seat_relay import SeatRelayDuty

    chain, sender = services.chain, services.sender
    assert chain is not None and sender is not None
    gate = chain.contracts.qualifications
    if not services.settings.relay or gate is None:
        return []
    contracts = chain.contracts
    return [
        SeatRelayDuty(
            db=services.db,
            gate=gate,
            market=contracts.market,
            token=contracts.token,
            sender=sender,
            chain_id=services.chain_id,
            clock=chain_clock(services),
        ),
        ClaimRelayDuty(
            db=services.db,
            store=services.store,
            gate=gate,
            market=contracts.market,
            sender=sender,
            chain_id=services.chain_id,
        ),
    ]


def _reviewer(services: NodeServices) -> list[Duty]:
    """The reviewer duties of a validator that opted in (``review``): commit and reveal votes
    from the review page or the configured review program over the contested set the node
    computes, then settle its review leaves."""
    from node.labelers.review import load_review_program
    from node.roles.review_settlement import ReviewSettleDuty
    from node.roles.review_votes import ContestedVoteSource
    from node.roles.reviewer import ReviewerDuty

    assert services.chain is not None and services.sender is not None
    contracts, settings = services.chain.contracts, services.settings
    if contracts.review_board is None:
        raise DeploymentError(
            "review is on but the deployment has no ReviewBoard: redeploy or turn review off"
        )
    program = None
    if settings.review_program is not None:
        program = load_review_program(settings.review_program)
    source = ContestedVoteSource(
        service=services.reviews(),
        board=contracts.review_board,
        reviewer=services.sender.address,
        clock=chain_clock(services),
        program=program,
    )
    reviewer = ReviewerDuty(
        db=services.db,
        store=services.store,
        market=contracts.market,
        board=contracts.review_board,
        token=contracts.token,
        sender=services.sender,
        chain_id=services.chain_id,
        source=source,
    )
    settle = ReviewSettleDuty(
        db=services.db,
        store=services.store,
        market=contracts.market,
        board=contracts.review_board,
        sender=services.sender,
        chain_id=services.chain_id,
    )
    return [reviewer, settle]


def _review_finisher(services: NodeServices) -> RequesterReviewFinisher | None:
    """The requester's ``finishReview`` sender, if the deployment has a ReviewBoard."""
    from node.roles.review_settlement import RequesterReviewFinisher

    assert services.chain is not None and services.sender is not None
    board = services.chain.contracts.review_board
    if board is None:
        return None
    return RequesterReviewFinisher(
        db=services.db,
        market=services.chain.contracts.market,
        board=board,
        sender=services.sender,
        chain_id=services.chain_id,
    )


def _missing(services: NodeServices) -> str:
    return "a deployment (chain)" if services.chain is None else "an account (keystore)"
