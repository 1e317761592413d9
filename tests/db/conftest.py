"""Every database test runs on SQLite and on a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.db import Database
from node.db.models import Task
from tests.support.postgres import open_test_database

BACKENDS = ("sqlite", "postgresql")
CHAIN = 31337
REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_test_database(request, request.param, tmp_path) as database:
        yield database


def make_task(task_id: int = 1, **overrides: object) -> Task:
    """A task row as the mirror would write it."""
    values: dict[str, object] = {
        "chain_id": CHAIN,
        "task_id": task_id,
        "requester": REQUESTER,
        "manifest_cid": "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        "algorithm": "ds-gold@1",
        "commit_deadline": 1_700_000_000,
        "reveal_deadline": 1_700_003_600,
        "attest_deadline": 1_700_007_200,
        "num_items": 4,
        "redundancy": 3,
        "reward_per_label": 10 * 10**18,
        "validator_fee": 9 * 10**18,
        "annotator_bond": 2 * 10**18,
        "reward_pool": 120 * 10**18,
    }
    values.update(overrides)
    return Task.model_validate(values)
