"""Schemathesis against the node's own OpenAPI document, in process.

Every documented operation gets requests generated from its schema (valid ones, and invalid
ones in negative mode), sent with the node's API token and, for the routes that need it,
without it too; also with the path's ``task_id`` pinned to a seeded task, so the 200 paths are
exercised and not only the 404s. Each response must not be a server error, must have a
documented status code, and must match the schema documented for that status.

Deterministic (``derandomize``): the same requests on every run, so CI is stable and a
failure reproduces. The node is real (SQLite and an embedded store in a temporary data
directory, the ingest writer running); it has no chain, as in ``tests/api``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python.asgi import ASGIClient
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.config import load_settings
from node.db.models import Attestation, Task, TaskStatus
from node.db.repositories import PayoutLeaf, PayoutRepository
from tests.api.conftest import ANNOTATOR_KEY, CHAIN, add_task

EXAMPLES = 30
"""Most examples per operation, mode and variant (token or not, task pinned or not); fewer
where Hypothesis runs out of distinct requests (``/healthz`` has exactly one)."""
MIN_REQUESTS = 1_000
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
VALIDATOR = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
ROOT = "0x" + "aa" * 32
RESULT_CID = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


def _seed(services: NodeServices) -> str:
    """An open task 1 with items, a finalized task 2 with an attestation and a payout, and a
    stored document; returns the document's CID."""
    add_task(services.db, 1, items=5)
    add_task(services.db, 2, items=2, status=TaskStatus.FINALIZED)
    with services.db.write() as session:
        session.add(
            Attestation(
                chain_id=CHAIN,
                task_id=2,
                validator=VALIDATOR,
                payout_root=ROOT,
                result_cid=RESULT_CID,
                block_number=10,
                tx_hash="0x" + "01" * 32,
                total_payout=60 * 10**18,
                weight=10**21,
            )
        )
        task = session.get_one(Task, (CHAIN, 2))
        task.payout_root = ROOT
        task.total_payout = 60 * 10**18
        session.add(task)
        PayoutRepository(session).record_leaves(
            CHAIN, 2, [PayoutLeaf(services.require_annotator(), 60 * 10**18, [])]
        )
    return services.store.put(b'{"schema":"labelnet/test@1"}')


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    """The running node's app (lifespan entered), its API token and a stored CID."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz-node")
    services = NodeServices.open(load_settings(data_dir=data_dir, chain_id=CHAIN))
    account: LocalAccount = Account.from_key(ANNOTATOR_KEY)
    services.account = account
    cid = _seed(services)
    with TestClient(create_app(services=services)) as http:
        yield http, services.api_token, cid


def _run(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    session: ASGIClient,
    sent: Counter[str],
    headers: dict[str, str],
    path_parameters: dict[str, Any] | None,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Any]) -> None:
        sent[operation.label] += 1
        case.call_and_validate(
            base_url="http://testserver", session=session, headers=headers, checks=CHECKS
        )

    try:
        check()
    except Unsatisfiable:
        # Negative mode on an operation with nothing left to make invalid (no parameters,
        # or only the pinned path ones): there is no such request to send.
        if mode is not GenerationMode.NEGATIVE:
            raise


def test_every_operation_conforms_to_its_schema(node: tuple[TestClient, str, str]) -> None:
    http, token, cid = node
    document: dict[str, Any] = http.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    # Schemathesis's own in-process client, not entered: the TestClient above owns the
    # app's lifespan (the node's threads start once and close once).
    session = ASGIClient(http.app)  # type: ignore[arg-type]  # Starlette's ASGIApp, typed apart
    token_header = {"Authorization": f"Bearer {token}"}
    sent: Counter[str] = Counter()
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 12  # every documented operation is usable
    for operation in operations:
        pinned: list[dict[str, Any] | None] = [None]
        names = {parameter.name for parameter in operation.path_parameters}
        if "task_id" in names:
            pinned += [{"task_id": 1}, {"task_id": 2}]
        if "cid" in names:
            pinned.append({"cid": cid})
        variants = [token_header]
        documented = document["paths"][operation.path][operation.method.lower()]
        if documented.get("security"):
            variants.append({})  # the token's routes refuse a request without it (401)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for headers in variants:
                for path_parameters in pinned:
                    _run(operation, mode, session, sent, headers, path_parameters)
    total = sum(sent.values())
    print(f"schemathesis: {total} requests over {len(sent)} operations: {dict(sent)}")
    assert total >= MIN_REQUESTS
    assert set(sent) == {operation.label for operation in operations}
