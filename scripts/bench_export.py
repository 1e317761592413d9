"""Memory and time of exporting a paged (``result@2``) task's result as the SDK does (issue #14).

Builds a task of ``--items`` items in a scratch store (the manifest in a shuffled order, the
result paged by the protocol's rule), then exports it in a fresh process per row, so each
process's peak RSS is the export's own:

* ``stream``: ``ResultItems`` as ``fetch_results`` gives them (result pages joined with the
  manifest's item pages through a temporary SQLite table);
* ``held``: what ``fetch_results`` did before: every item page read into a dict of item
  specs, every result entry into a tuple, sorted into manifest order and joined in a tuple.

    .venv/bin/python scripts/bench_export.py --items 200000 --json bench-results/export.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.content.exports import ExportFormat, export_results  # noqa: E402
from node.protocol.manifest import (  # noqa: E402
    MAX_DOCUMENT_BYTES,
    ItemPage,
    ItemSpec,
    build_task_content,
)
from node.protocol.result import ResultDocument, parse_result  # noqa: E402
from node.protocol.result_pages import RESULT_V1, page_document  # noqa: E402
from node.roles.requester import ResultItem, ResultItems, TaskResults  # noqa: E402
from node.roles.settlement import result_page_bytes  # noqa: E402
from node.store.embedded import EmbeddedStore  # noqa: E402

TASK = 1


def build(store_dir: Path, items: int) -> dict[str, Any]:
    """The task's content and result in ``store_dir``; returns what an export needs."""
    store = EmbeddedStore(store_dir)
    rng = random.Random(14)
    ids = [f"item-{n:07d}" for n in range(items)]
    shuffled = ids.copy()
    rng.shuffle(shuffled)
    content = build_task_content(
        [ItemSpec(id=i, data={"text": f"the text of {i}"}) for i in shuffled],
        title="bench",
        classes=("a", "b"),
    )
    for blob in content.blobs():
        store.put(blob)
    entries = [
        {"item": i, "value": "ab"[n % 2], "confident": True, "gold": False,
         "confidence": "0.973000000"}
        for n, i in enumerate(ids)
    ]  # fmt: skip
    paged = page_document(
        {"schema": RESULT_V1, "task": TASK, "kind": "categorical", "classes": ["a", "b"],
         "items": entries, "annotators": [], "payouts": []}
    )  # fmt: skip
    for page in paged.pages:
        store.put(page)
    return {
        "root": store.put(paged.root_bytes),
        "item_pages": list(content.manifest.pages),
        "result_pages": len(paged.pages),
    }


def _held(store: EmbeddedStore, result: ResultDocument, pages: list[str]) -> tuple[ResultItem, ...]:
    """The items as ``fetch_results`` joined them before streaming (commit 4884ce1)."""
    specs = {
        item.id: item
        for page in pages
        for item in ItemPage.from_bytes(store.get(page, max_size=MAX_DOCUMENT_BYTES)).items
    }
    entries = tuple(result.iter_items(lambda cid: result_page_bytes(store, cid)))
    position = {item: index for index, item in enumerate(specs)}
    ordered = sorted(entries, key=lambda e: position.get(e.item, len(position)))
    return tuple(ResultItem.joined(e, specs[e.item].data, specs[e.item].content) for e in ordered)


def export(store_dir: Path, task: dict[str, Any], mode: str, out: Path, fmt: str) -> None:
    store = EmbeddedStore(store_dir)
    result = parse_result(store.get(task["root"], max_size=1 << 26), TASK)
    items: Iterable[ResultItem] = ResultItems(store, TASK, result, tuple(task["item_pages"]))
    if mode == "held":
        items = _held(store, result, task["item_pages"])
    results = TaskResults(
        task_id=TASK,
        result_cid=task["root"],
        kind="categorical",
        classes=("a", "b"),
        items=items,
        annotators=(),
        document=result.document,
    )
    format: ExportFormat = fmt  # type: ignore[assignment]
    export_results(results, out, format)


def _peak_rss_mb() -> int:
    """This process's peak RSS: ``VmHWM`` (``ru_maxrss`` survives ``exec`` on Linux, so a
    child would report the parent's peak from building the task)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--formats", default="jsonl,csv,labelstudio")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=4, metavar=("STORE", "TASK", "MODE", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        store_dir, task_file, mode, fmt = args.child
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            task = json.loads(Path(task_file).read_text())
            export(Path(store_dir), task, mode, Path(scratch) / "out", fmt)
        seconds = time.perf_counter() - started
        peak = _peak_rss_mb()
        print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": peak}))
        return
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        store_dir = Path(scratch) / "store"
        task = build(store_dir, args.items)
        task_file = Path(scratch) / "task.json"
        task_file.write_text(json.dumps(task))
        for fmt in args.formats.split(","):
            for mode in ("stream", "held"):
                child = [sys.executable, __file__, "--child", str(store_dir), str(task_file)]
                done = subprocess.run(
                    [*child, mode, fmt], check=True, capture_output=True, text=True
                )
                rows.append({"format": fmt, "mode": mode, **json.loads(done.stdout)})
    pages = f"{task['result_pages']} result pages, {len(task['item_pages'])} item pages"
    print(f"{args.items} items, {pages}")
    print(f"{'format':<12}{'mode':<8}{'seconds':>9}{'peak RSS MB':>13}")
    for row in rows:
        print(f"{row['format']:<12}{row['mode']:<8}{row['seconds']:>9}{row['peak_rss_mb']:>13}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"items": args.items, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
