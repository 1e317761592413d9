#!/usr/bin/env python3
"""Load campaign: many annotators at once, each labeling through the API of its own node.

    scripts/bench_load.py [--annotators 50] [--seconds 30] [--batch 1] [--json FILE]

Starts ``annotators`` real nodes (``labelnet node start``, one process each, each with its
own data directory, SQLite database and encrypted keystore; no chain: labeling never
touches it), each holding one open task (set up as ``scripts/bench_node.py`` does). Then
every annotator labels its task's items in order through ``POST
/api/v1/tasks/{id}/labels`` of its own node, ``batch`` labels a request (1: one request
per answer, as the labeling page sends them), as fast as the node answers, for
``seconds``. Annotators are coroutines spread over ``--client-procs`` client processes
(one interpreter for all of them would measure its own lock, not the nodes).

Reported: labels per second over all nodes, request latency p50/p99, errors (must be 0),
and, after every node is stopped, whether each node's database holds every label its API
acknowledged (a lost acknowledged label is an error too). Run ``--idle`` first to see what
the machine has to spare: it measures the CPU idle share for a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_node import CHAIN_ID, LABELS, TASK_ID, percentile, prepare, start_node  # noqa: E402

from node.chain.anvil import free_port  # noqa: E402
from node.db.engine import open_database  # noqa: E402
from node.db.repositories import LabelRepository  # noqa: E402

READY_TIMEOUT = 600.0


def idle_share(seconds: float = 3.0) -> float:
    """The share of CPU time the machine spent idle over ``seconds`` (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(total1 - total0, 1)


async def annotate(
    url: str, token: str, batch: int, items: int, start_at: float, stop_at: float
) -> dict[str, Any]:
    """One annotator: label items 0, 1, 2... until ``stop_at``; what was acknowledged."""
    latencies: list[float] = []
    acked: list[int] = []
    errors = 0
    first_error = None
    headers = {"Authorization": f"Bearer {token}"}
    position = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30.0) as http:
        while time.monotonic() < stop_at and position < items:
            chunk = list(range(position, min(position + batch, items)))
            position += len(chunk)
            body = [{"item": f"item-{n:07d}", "value": LABELS[n % len(LABELS)]} for n in chunk]
            began = time.monotonic()
            try:
                response = await http.post(f"/api/v1/tasks/{TASK_ID}/labels", json=body)
                ok = response.status_code == 200
                detail = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            ended = time.monotonic()
            if ok:
                acked.extend(chunk)
                if began >= start_at:
                    latencies.append(ended - began)
            else:
                errors += 1
                first_error = first_error or detail
    measured = sum(1 for _ in latencies) * batch
    return {"acked": acked, "latencies": latencies, "measured_labels": measured,
            "errors": errors, "first_error": first_error}  # fmt: skip


def client_process(
    targets: list[tuple[str, str]], batch: int, items: int, start_at: float, stop_at: float
) -> list[dict[str, Any]]:
    async def all_of_them() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                *(annotate(url, token, batch, items, start_at, stop_at) for url, token in targets)
            )
        )

    return asyncio.run(all_of_them())


def stored_items(data_dir: Path) -> set[int]:
    """Item positions of every label the node's database holds for the task."""
    # A V3 keystore names its address in the clear: no need to pay for scrypt again.
    keystore = json.loads((data_dir / "keystore.json").read_text())
    annotator = Web3.to_checksum_address(keystore["address"])
    db = open_database(url=f"sqlite:///{data_dir / 'node.db'}")
    try:
        with db.session() as session:
            rows = LabelRepository(session).list_for(CHAIN_ID, TASK_ID, annotator)
            return {int(row.item_id.removeprefix("item-")) for row in rows}
    finally:
        db.dispose()


def wait_all_ready(urls: list[str], processes: list[subprocess.Popen[bytes]]) -> float:
    began = time.monotonic()
    pending = set(range(len(urls)))
    with httpx.Client(timeout=2.0) as http:
        while pending:
            for i in list(pending):
                if processes[i].poll() is not None:
                    raise SystemExit(f"node {i} exited with {processes[i].returncode}")
                try:
                    if http.get(f"{urls[i]}/readyz").status_code == 200:
                        pending.discard(i)
                except httpx.HTTPError:
                    pass
            if time.monotonic() - began > READY_TIMEOUT:
                raise SystemExit(f"{len(pending)} nodes not ready after {READY_TIMEOUT:.0f}s")
            time.sleep(0.5)
    return time.monotonic() - began


def run(args: argparse.Namespace) -> dict[str, Any]:
    idle = idle_share()
    with tempfile.TemporaryDirectory(prefix="labelnet-load-") as tmp:
        dirs = [Path(tmp) / f"node-{i + 1}" for i in range(args.annotators)]
        for data_dir in dirs:
            data_dir.mkdir()
            prepare(data_dir, args.items)
        ports = [free_port() for _ in dirs]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        processes = [start_node(d, p) for d, p in zip(dirs, ports, strict=True)]
        try:
            startup = wait_all_ready(urls, processes)
            rss = sum(_rss(p.pid) for p in processes)
            tokens = [(d / "api-token").read_text().strip() for d in dirs]
            targets = list(zip(urls, tokens, strict=True))
            procs = max(1, min(args.client_procs, len(targets)))
            shares = [targets[i::procs] for i in range(procs)]
            now = time.monotonic()
            start_at, stop_at = now + args.warmup, now + args.warmup + args.seconds
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(procs, mp_context=context) as pool:
                futures = [
                    pool.submit(client_process, share, args.batch, args.items, start_at, stop_at)
                    for share in shares
                ]
                # Results come back per share; map them back to the node they talked to.
                by_url: dict[str, dict[str, Any]] = {}
                for share, future in zip(shares, futures, strict=True):
                    for (url, _), result in zip(share, future.result(), strict=True):
                        by_url[url] = result
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=60) for process in processes]
        lost = 0
        for data_dir, url in zip(dirs, urls, strict=True):
            acked = set(by_url[url]["acked"])
            lost += len(acked - stored_items(data_dir))
    results = list(by_url.values())
    latencies = [lat for r in results for lat in r["latencies"]]
    labels = sum(int(r["measured_labels"]) for r in results)
    errors = sum(int(r["errors"]) for r in results)
    return {
        "annotators": args.annotators,
        "nodes": args.annotators,
        "batch": args.batch,
        "seconds": args.seconds,
        "labels_per_second": round(labels / args.seconds, 1),
        "labels_per_second_per_annotator": round(labels / args.seconds / args.annotators, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "requests": len(latencies),
        "labels_acknowledged": sum(len(r["acked"]) for r in results),
        "errors": errors,
        "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
        "lost_acknowledged_labels": lost,
        "node_exit_codes": sorted(set(codes)),
        "startup_seconds": round(startup, 1),
        "nodes_rss_mb": round(rss / 1e6),
        "idle_cpu_share_before": round(idle, 3),
        "cpus": os.cpu_count(),
    }


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=50, help="one node each")
    parser.add_argument("--items", type=int, default=5_000, help="items per task")
    parser.add_argument("--batch", type=int, default=1, help="labels per request")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured warm-up")
    parser.add_argument("--client-procs", type=int, default=4, help="client processes")
    parser.add_argument("--idle", action="store_true", help="only measure idle CPU")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.idle:
        print(f"idle CPU share: {idle_share(5.0):.3f} of {os.cpu_count()} CPUs")
        return 0
    result = run(args)
    for key, value in result.items():
        print(f"  {key:<34}{value}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    bad = result["errors"] or result["lost_acknowledged_labels"] or result["node_exit_codes"] != [0]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
