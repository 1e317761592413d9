"""The labeling page's reputation line: this node's account's counters in a task's domain
(issue #19 item 1, docs/qualification.md).

Read from the gate, never cached: the counters are the chain's, credited at each claim of a
gated task, so the page shows what a task's admission rule will judge, and anyone can
recompute it from the finalized results. An ungated task counts in no domain: the view says
so and gives the account's counters in the zero domain's stead (all zero). A node without a
chain, or a deployment without a gate (before market v3), has no gated task: every task is
ungated and the counters are zero (the page asks for every task it opens, and shows the line
for gated ones only).
"""

from __future__ import annotations

from pydantic import BaseModel

from node.app.chain import ChainConnection
from node.chain.qualifications import read_reputation, read_rule


class TaskReputation(BaseModel):
    """An account's counters in the domain of one task, and the task's rule in words."""

    task_id: int
    account: str
    gated: bool
    """Whether the task is gated: only a gated task's claims count, in its domain."""
    domain: str
    """The task's reputation domain ("" for an ungated task, or a gated one in none)."""
    rule: str | None
    """The task's admission rule in words (None for an ungated task)."""
    accepted: int
    answered: int
    tasks: int
    accuracy: float | None
    """``accepted / answered``; None with nothing answered."""


def task_reputation(chain: ChainConnection | None, task_id: int, account: str) -> TaskReputation:
    """``account``'s reputation in ``task_id``'s domain, read from the gate."""
    gate = None if chain is None else chain.contracts.qualifications
    if gate is None:
        return TaskReputation(
            task_id=task_id,
            account=account,
            gated=False,
            domain="",
            rule=None,
            accepted=0,
            answered=0,
            tasks=0,
            accuracy=None,
        )
    rule = read_rule(gate, task_id)
    domain = "" if rule is None else rule.domain
    counters = read_reputation(gate, account, domain)
    return TaskReputation(
        task_id=task_id,
        account=account,
        gated=rule is not None,
        domain=domain,
        rule=None if rule is None else rule.describe(),
        accepted=counters.accepted,
        answered=counters.answered,
        tasks=counters.tasks,
        accuracy=counters.accuracy,
    )
