"""Health, readiness and metrics; the node against a live and a dead chain."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from node.api.app import create_app
from node.app.runtime import NodeServices
from node.chain.anvil import Anvil, free_port
from node.chain.contracts import Contracts, Deployment
from node.config import NodeSettings, load_settings
from tests.api.conftest import add_task, write_deployment
from tests.chain.test_lifecycle import create_task
from tests.conftest import Actors


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def metric(text: str, prefix: str) -> float:
    """The value of the first sample line starting with ``prefix``."""
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {prefix!r} in:\n{text}")


def test_healthz_and_readyz_without_a_chain(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "store", "disk", "chain", "sync"}
    assert body["checks"]["database"] == {"ok": True, "detail": "sqlite"}


def test_readyz_fails_with_reasons_when_the_store_is_gone(
    client: TestClient, services: NodeServices
) -> None:
    blocks = services.settings.data_dir / "blocks"
    blocks.rename(blocks.with_name("moved"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["store"]["ok"] is False
    assert client.get("/healthz").status_code == 200  # alive, just not ready


@pytest.fixture
def dead_rpc_settings(tmp_path: Path) -> NodeSettings:
    """A node whose deployment is on chain 31337 and whose RPC port nobody listens on."""
    address = "0x" + "12" * 20
    deployment = tmp_path / "deployment.json"
    names = ("token", "staking", "market", "registry")
    deployment.write_text(json.dumps({"chain_id": 31337, **dict.fromkeys(names, address)}))
    return load_settings(
        data_dir=tmp_path / "node",
        rpc_url=f"http://127.0.0.1:{free_port()}",
        deployment_file=deployment,
        sync_interval=0.05,
    )


def test_readyz_fails_while_the_rpc_is_down(dead_rpc_settings: NodeSettings) -> None:
    # The node starts anyway (it serves what it has) and says why it is not ready.
    with TestClient(create_app(dead_rpc_settings)) as http:
        response = http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["ready"] is False
        assert body["checks"]["chain"]["ok"] is False
        assert "RPC unreachable" in body["checks"]["chain"]["detail"]
        assert body["checks"]["sync"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        # The sync keeps retrying in the background; its failures are counted.
        wait_for(lambda: "labelnet_sync_failures_total 0.0" not in http.get("/metrics").text)
        assert http.get("/healthz").status_code == 200


@pytest.fixture
def chain_settings(tmp_path: Path, anvil: Anvil, deployment: Deployment) -> NodeSettings:
    return load_settings(
        data_dir=tmp_path / "node",
        rpc_url=anvil.url,
        deployment_file=write_deployment(tmp_path / "deployment.json", deployment),
        sync_interval=0.05,
        max_sync_lag=0,
    )


@pytest.fixture
def chain_client(chain_settings: NodeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(chain_settings)) as http:
        yield http


def test_node_follows_the_chain_and_reports_sync(
    chain_client: TestClient, w3: Web3, contracts: Contracts, actors: Actors
) -> None:
    wait_for(lambda: chain_client.get("/readyz").status_code == 200)
    ready = chain_client.get("/readyz").json()
    assert ready["checks"]["chain"]["ok"] and ready["checks"]["sync"]["ok"]
    assert ready["synced_block"] == ready["head"] == w3.eth.block_number

    task = create_task(w3, contracts, actors)
    wait_for(lambda: chain_client.get(f"/api/v1/tasks/{task.task_id}").status_code == 200)
    mirrored = chain_client.get(f"/api/v1/tasks/{task.task_id}").json()
    assert mirrored["reward_pool"] == str(task.reward_pool)
    assert mirrored["status"] == "open"

    wait_for(lambda: chain_client.get("/readyz").json()["synced_block"] == w3.eth.block_number)
    text = chain_client.get("/metrics").text
    assert metric(text, "labelnet_sync_head_block ") >= w3.eth.block_number - 1
    assert metric(text, "labelnet_sync_lag_blocks ") >= 0


class FlakyDuty:
    """Fails on its first tick, then succeeds."""

    name = "flaky"

    def __init__(self) -> None:
        self.ticks = 0
        self.ticked = threading.Event()

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks == 1:
            raise RuntimeError("first tick fails")
        self.ticked.set()


def test_duties_run_periodically_and_failures_are_logged_not_raised(
    settings: NodeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    duty = FlakyDuty()
    fast = settings.model_copy(update={"duty_interval": 0.01})
    services = NodeServices.open(fast, duties=lambda _services: [duty])
    with TestClient(create_app(services=services)) as http:
        assert duty.ticked.wait(10)
        text = http.get("/metrics").text
        assert metric(text, 'labelnet_duty_failures_total{duty="flaky"}') == 1
        assert metric(text, 'labelnet_duty_ticks_total{duty="flaky"}') >= 2
        assert http.get("/readyz").status_code == 200
    # The lifespan stopped and joined the thread: no more ticks after shutdown.
    stopped_at = duty.ticks
    time.sleep(0.1)
    assert duty.ticks == stopped_at
    assert not services.running
    assert "duty flaky failed" in caplog.text
    assert services.duties[0].snapshot().failures == 1


def test_metrics_count_requests_by_route_template_per_app(
    client: TestClient, services: NodeServices, auth: dict[str, str], settings: NodeSettings
) -> None:
    items = add_task(services.db, 1, items=5)
    add_task(services.db, 2, items=1)
    client.post(
        "/api/v1/tasks/1/labels",
        json=[{"item": item, "value": "cat"} for item in items],
        headers=auth,
    )
    client.post("/api/v1/tasks/1/labels", json=[{"item": items[0], "value": "x"}])  # 401
    client.get("/api/v1/tasks/1")
    client.get("/api/v1/tasks/2")
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert "text/plain" in client.get("/metrics").headers["content-type"]
    route = 'route="/api/v1/tasks/{task_id}/labels"'
    assert metric(text, f'labelnet_http_requests_total{{method="POST",{route},status="200"}}') == 1
    assert metric(text, f'labelnet_http_requests_total{{method="POST",{route},status="401"}}') == 1
    detail = 'labelnet_http_requests_total{method="GET",route="/api/v1/tasks/{task_id}"'
    assert metric(text, detail) == 2  # both ids under one template
    assert metric(text, 'labelnet_http_requests_total{method="GET",route="unmatched"') == 1
    assert metric(text, "labelnet_labels_accepted_total ") == 5
    assert "labelnet_http_request_duration_seconds_bucket" in text

    # A second app in the same process has its own registry, starting from zero.
    other = NodeServices.open(settings.model_copy(update={"data_dir": settings.data_dir / "b"}))
    with TestClient(create_app(services=other)) as second:
        assert metric(second.get("/metrics").text, "labelnet_labels_accepted_total ") == 0


def test_gateway_serves_the_local_store_at_the_root(
    client: TestClient, services: NodeServices
) -> None:
    assert client.get("/ipfs/bafkqaaa", params={"format": "raw"}).status_code == 200
    cid = services.store.put(b'{"hello": "labelnet"}')
    block = client.get(f"/ipfs/{cid}", params={"format": "raw"})
    assert block.status_code == 200
    assert block.content == b'{"hello": "labelnet"}'
    assert block.headers["content-type"] == "application/vnd.ipld.raw"
    assert client.head(f"/ipfs/{cid}", params={"format": "raw"}).status_code == 200
