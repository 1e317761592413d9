#!/usr/bin/env python3
"""Ingest benchmark: labels per second into one node from concurrent clients.

Starts a real node (``labelnet node start`` as a subprocess: SQLite in a temporary data
directory, an encrypted keystore, no chain — ingest never touches it), stores one task and
its items directly in the node's database before the start, then runs ``--clients``
client processes, each with one persistent HTTP connection, posting batches of ``--batch`` labels
for ``--seconds`` after a short warm-up. Reports labels/second, p50/p99 latency of a batch
request and the error count (which must be 0), as a table and optionally as JSON.

    .venv/bin/python scripts/bench_node.py --clients 2 --batch 100 --seconds 20 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.chain.anvil import free_port  # noqa: E402
from node.db.engine import open_database  # noqa: E402
from node.db.models import ItemCreate, Task  # noqa: E402
from node.db.repositories import ItemRepository  # noqa: E402
from node.keys import create_keystore  # noqa: E402

CHAIN_ID = 31337
TASK_ID = 1
PASSWORD = "bench"
LABELS = ("cat", "dog", "bird", "fish")


@dataclass
class ClientStats:
    latencies: list[float] = field(default_factory=list)
    labels: int = 0
    errors: int = 0
    first_error: str | None = None


def prepare(data_dir: Path, items: int) -> None:
    """One open task with ``items`` items in the node's SQLite database, and a keystore."""
    db = open_database(url=f"sqlite:///{data_dir / 'node.db'}")
    try:
        with db.write() as session:
            session.add(
                Task(
                    chain_id=CHAIN_ID,
                    task_id=TASK_ID,
                    requester="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    manifest_cid="bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
                    algorithm="ds-gold@1",
                    commit_deadline=int(time.time()) + 86_400,
                    reveal_deadline=int(time.time()) + 2 * 86_400,
                    attest_deadline=int(time.time()) + 3 * 86_400,
                    num_items=items,
                    redundancy=3,
                    reward_per_label=10**18,
                    validator_fee=10**18,
                    annotator_bond=0,
                    reward_pool=items * 3 * 10**18,
                )
            )
        with db.write() as session:
            batch = [ItemCreate(item_id=f"item-{n:07d}", position=n) for n in range(items)]
            ItemRepository(session).upsert_many(CHAIN_ID, TASK_ID, batch)
    finally:
        db.dispose()
    create_keystore(data_dir / "keystore.json", PASSWORD)


def start_node(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LABELNET_KEYSTORE_PASSWORD": PASSWORD,
        "LABELNET_CHAIN_ID": str(CHAIN_ID),
    }
    for name in ("LABELNET_DATABASE_URL", "LABELNET_DEPLOYMENT_FILE", "LABELNET_CONFIG"):
        env.pop(name, None)
    command = [
        str(Path(sys.executable).parent / "labelnet"),
        "node", "start",
        "--data-dir", str(data_dir),
        "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the node exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the node was not ready within {timeout}s")


def client(
    url: str,
    token: str,
    index: int,
    batch: int,
    items_per_client: int,
    start_at: float,
    stop_at: float,
) -> ClientStats:
    """Post batches over one connection; only requests started after ``start_at`` count.

    Runs in a process of its own: client threads sharing one interpreter would queue for
    its GIL and add that wait to the latencies measured.
    """
    stats = ClientStats()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    first = index * items_per_client
    offset = 0
    with httpx.Client(base_url=url, headers=headers, timeout=10.0) as http:
        while True:
            if time.monotonic() >= stop_at:
                return stats
            body = json.dumps(
                [
                    {
                        "item": f"item-{first + (offset + k) % items_per_client:07d}",
                        "value": LABELS[(offset + k) % len(LABELS)],
                    }
                    for k in range(batch)
                ]
            ).encode()
            offset += batch
            began = time.monotonic()
            try:
                response = http.post(f"/api/v1/tasks/{TASK_ID}/labels", content=body)
                ok = response.status_code == 200
                detail = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            ended = time.monotonic()
            if began < start_at:
                continue
            if ok:
                stats.latencies.append(ended - began)
                stats.labels += batch
            else:
                stats.errors += 1
                stats.first_error = stats.first_error or detail


def profile(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """Sample the node with py-spy over the measured window (collapsed stacks, for
    flamegraph.pl or speedscope)."""
    command = [
        str(Path(sys.executable).parent / "py-spy"),
        "record", "--pid", str(pid), "--format", "raw", "--output", str(args.profile),
        "--duration", str(int(args.warmup + args.seconds)), "--rate", "200",
        "--nonblocking", "--gil",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_latency(url: str) -> dict[str, float]:
    """Mean time the node spent on a label batch, from its own metrics (excludes the client
    and the network)."""
    route = 'route="/api/v1/tasks/{task_id}/labels"'
    total = count = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=5.0).text.splitlines():
        if route in line and 'method="POST"' in line:
            if line.startswith("labelnet_http_request_duration_seconds_sum"):
                total = float(line.rsplit(" ", 1)[1])
            elif line.startswith("labelnet_http_request_duration_seconds_count"):
                count = float(line.rsplit(" ", 1)[1])
    return {"server_mean_ms": round(total / count * 1000, 2) if count else float("nan")}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> dict[str, object]:
    items_per_client = max(args.batch * 10, 5_000)
    with tempfile.TemporaryDirectory(prefix="labelnet-bench-") as tmp:
        data_dir = Path(tmp)
        prepare(data_dir, items_per_client * args.clients)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_node(data_dir, port)
        try:
            wait_ready(url, process)
            token = (data_dir / "api-token").read_text().strip()
            # time.monotonic() is CLOCK_MONOTONIC: one clock for every client process.
            now = time.monotonic()
            start_at, stop_at = now + args.warmup, now + args.warmup + args.seconds
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(args.clients, mp_context=context) as pool:
                futures = [
                    pool.submit(
                        client, url, token, i, args.batch, items_per_client, start_at, stop_at
                    )
                    for i in range(args.clients)
                ]
                profiler = profile(process.pid, args) if args.profile else None
                time.sleep(max(0.0, start_at - time.monotonic()))
                cpu_before = cpu_seconds(process.pid)
                time.sleep(max(0.0, stop_at - time.monotonic()))
                cpu_used = cpu_seconds(process.pid) - cpu_before
                stats = [future.result() for future in futures]
            if profiler is not None:
                profiler.wait(timeout=60)
            server = server_latency(url)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
    latencies = [lat for s in stats for lat in s.latencies]
    labels = sum(s.labels for s in stats)
    errors = sum(s.errors for s in stats)
    return {
        "labels_per_second": round(labels / args.seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        **server,
        "node_cpu_ms_per_batch": round(cpu_used / len(latencies) * 1000, 2) if latencies else None,
        "node_cpu_share": round(cpu_used / args.seconds, 2),
        "requests": len(latencies),
        "labels": labels,
        "errors": errors,
        "first_error": next((s.first_error for s in stats if s.first_error), None),
        "clients": args.clients,
        "batch": args.batch,
        "seconds": args.seconds,
        "node_exit_code": code,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients")
    parser.add_argument("--batch", type=int, default=100, help="labels per request")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured warm-up")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--profile", type=Path, help="py-spy the node into this file")
    args = parser.parse_args()
    result = run(args)
    rows = [
        ("clients x batch", f"{args.clients} x {args.batch}"),
        ("labels/s", f"{result['labels_per_second']:,}"),
        ("batch p50 (ms)", f"{result['p50_ms']}"),
        ("batch p99 (ms)", f"{result['p99_ms']}"),
        ("batch mean (ms)", f"{result['mean_ms']}"),
        ("node mean (ms)", f"{result['server_mean_ms']}"),
        ("node CPU/batch (ms)", f"{result['node_cpu_ms_per_batch']}"),
        ("node CPU share", f"{result['node_cpu_share']}"),
        ("requests", f"{result['requests']:,}"),
        ("errors", f"{result['errors']}"),
        ("node exit code", f"{result['node_exit_code']}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"node ingest, {args.seconds:g} s measured on {os.cpu_count()} CPUs")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")
    if result["first_error"]:
        print(f"  first error: {result['first_error']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
