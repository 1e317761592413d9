"""What the node runtime needs to know about a role's background work.

Each duty is a small state machine whose state lives in the database, so ``tick`` can be
called any number of times, from a fresh process after a crash included, and always moves
work forward from wherever it was. The runtime calls ``tick`` periodically on a
background thread and logs what it raises; a failing duty never stops the node.
"""

from __future__ import annotations

from typing import Protocol


class Duty(Protocol):
    """One role's periodic, idempotent background work."""

    name: str

    def tick(self) -> None:
        """Do whatever work is due now; safe to repeat and to interrupt at any point."""
        ...
