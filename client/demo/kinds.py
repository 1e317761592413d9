"""``labelnet demo --kind boxes|spans|text|pairwise``: a synthetic crowd with known truth.

The crowd is the one ``scripts/bench_kinds.py`` measures (:mod:`node.labelers.synthetic`):
each annotator node runs the ``noisy`` labeling program at its own skill (uniform in
[0.3, 1], as the benchmark's ``mix`` regime), each spammer the ``random`` one, which for
these kinds answers as the benchmark's spammers. The task is open (no seats: seated tasks
are categorical only) and has no gold. The summary scores the winning result against the
truth with the kind's metric, next to the kind's plain baseline over the same revealed
answers (:mod:`client.demo.kind_metrics`), and lists every payout and its claim.
"""

from __future__ import annotations

import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from client.demo.kind_metrics import METRICS, baseline, score
from client.demo.metrics import revealed_batches
from node.app.chain import load_deployment
from node.chain.contracts import bind
from node.chain.market import read_task
from node.labelers.synthetic import (
    CLASSES,
    HEIGHT,
    TEXT_LENGTH,
    WIDTH,
    box_truth,
    span_truth,
    text_truth,
)
from node.protocol.annotation import RULES
from node.protocol.canonical import JsonValue
from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec
from node.roles.requester.results import TaskResults, fetch_results
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore

if TYPE_CHECKING:
    from client.demo.runner import DemoRun

TOKEN = 10**18
SKILL_LOW = 0.3
INSTRUCTIONS = {
    TaskKind.BOXES: "Draw a box around every object and give its class.",
    TaskKind.SPANS: "Mark every entity in the text and give its class.",
    TaskKind.TEXT: "Transcribe the utterance.",
    TaskKind.PAIRWISE: "Which response answers the prompt better?",
}


@dataclass(frozen=True)
class KindCrowd:
    """A task of a new kind and its synthetic crowd: items, true values, skills."""

    kind: TaskKind
    items: tuple[ItemSpec, ...]
    truth: dict[str, JsonValue]
    skills: tuple[float, ...]
    responses: dict[str, bytes]
    """Pairwise tasks: the responses' bytes by CID (the requester publishes them)."""

    @property
    def classes(self) -> tuple[str, ...]:
        return CLASSES if self.kind in (TaskKind.BOXES, TaskKind.SPANS) else ()

    def write_truth(self, path: Path) -> Path:
        """The truth as the ``noisy`` labeler reads it, one ``{"item", "value"}`` a line."""
        lines = (json.dumps({"item": k, "value": v}) for k, v in self.truth.items())
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def labelers(self, truth_file: Path) -> list[str]:
        """The annotator nodes' labeler specs, one per skill."""
        return [f"noisy:{truth_file}:{skill:.3f}:{i + 1}" for i, skill in enumerate(self.skills)]


def make_crowd(kind: TaskKind, items: int, annotators: int, seed: int = 20) -> KindCrowd:
    """``items`` items of ``kind`` with their truth and ``annotators`` skills."""
    if kind not in RULES:
        raise ValueError(f"--kind takes one of {', '.join(map(str, RULES))}, not {kind}")
    rng = np.random.default_rng(seed)
    skills = tuple(float(s) for s in rng.uniform(SKILL_LOW, 1.0, annotators))
    specs: list[ItemSpec] = []
    truth: dict[str, JsonValue] = {}
    responses: dict[str, bytes] = {}
    if kind is TaskKind.PAIRWISE:
        latent = rng.normal(0, 1, max(10, items // 4))
        texts = [f"response {r}: quality {q:.2f}".encode() for r, q in enumerate(latent)]
        cids = [compute_cid(t) for t in texts]
        responses = dict(zip(cids, texts, strict=True))
    for i in range(items):
        item = f"{kind.value}-{i:05d}"
        if kind is TaskKind.BOXES:
            truth[item] = box_truth(rng)
            data: JsonValue = {"width": WIDTH, "height": HEIGHT}
        elif kind is TaskKind.SPANS:
            truth[item] = span_truth(rng)
            data = {"text": "x" * TEXT_LENGTH}
        elif kind is TaskKind.TEXT:
            truth[item] = text_truth(rng)
            data = {"prompt": f"utterance {i}"}
        else:
            a, b = (int(x) for x in rng.choice(len(cids), 2, replace=False))
            truth[item] = "A" if latent[a] > latent[b] else "B"
            data = {"prompt": f"prompt {i}", "a": cids[a], "b": cids[b]}
        specs.append(ItemSpec(item, data=data))
    return KindCrowd(kind, tuple(specs), truth, skills, responses)


def collect_kind_summary(run: DemoRun, crowd: KindCrowd) -> dict[str, Any]:
    """The demo's summary for a task of a new kind (summary.json and the report)."""
    assert run.task is not None
    w3 = run.devnet.w3
    deployment = load_deployment(run.devnet.info.deployment_file)
    contracts = bind(w3, deployment)
    task_id = run.task.task_id
    gateways = [node.url for node in run.nodes]
    with tempfile.TemporaryDirectory() as scratch:
        store = GatewayStore(EmbeddedStore(Path(scratch)), lambda: gateways)
        try:
            results = fetch_results(
                w3, contracts, store, task_id, from_block=deployment.start_block
            )
            consensus = {entry.item: entry.value for entry in results.items}
            batches = revealed_batches(contracts, store, task_id, deployment.start_block)
        finally:
            store.close()
    names = {
        run.devnet.info.account(node.name).address.lower(): node.name
        for node in run.nodes
        if node.role == "annotator"
    }
    answers: dict[str, dict[int, JsonValue]] = {}
    for number, batch in enumerate(batches):
        for item, value in batch.labels:
            answers.setdefault(item, {})[number] = value
    paid = {str(p["account"]).lower(): int(str(p["amount"])) for p in _list(results, "payouts")}
    claimed = {
        str(event["args"]["account"]).lower(): int(event["args"]["amount"])
        for event in contracts.market.events.PayoutClaimed().get_logs(
            from_block=deployment.start_block, argument_filters={"taskId": task_id}
        )
    }
    skills = {f"annotator-{i + 1}": skill for i, skill in enumerate(crowd.skills)}
    people: list[dict[str, Any]] = []
    for batch in batches:
        account = batch.annotator.lower()
        name = names.get(account, account)
        mine = dict(batch.labels)
        people.append(
            {
                "name": name,
                "skill": skills.get(name),
                "labels": len(mine),
                "score": score(crowd.kind, mine, {k: crowd.truth[k] for k in mine}),
                "paid": paid.get(account, 0) / TOKEN,
                "claimed": claimed.get(account, 0) / TOKEN,
            }
        )
    people.sort(key=lambda p: (str(p["name"]).rpartition("-")[0], _number(str(p["name"]))))
    state = read_task(contracts.market, task_id)
    metric, base = METRICS[crowd.kind]
    return {
        "kind": str(crowd.kind),
        "task_id": task_id,
        "result_cid": results.result_cid,
        "items": len(crowd.items),
        "labels": sum(int(p["labels"]) for p in people),
        "seated": False,
        "metric": metric,
        "consensus": score(crowd.kind, consensus, crowd.truth),
        "baseline_name": base,
        "baseline": score(crowd.kind, baseline(crowd.kind, answers, crowd.classes), crowd.truth),
        "annotators": people,
        "payouts": len(paid),
        "claims": len(claimed),
        "all_claimed": paid == claimed and state.paid_out == state.total_payout,
        "total_paid": state.paid_out / TOKEN,
        "seconds": run.timings.get("claimed", 0.0),
        "timings": {name: round(value, 2) for name, value in run.timings.items()},
    }


def _list(results: TaskResults, key: str) -> list[dict[str, JsonValue]]:
    value = results.document.get(key, [])
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(name: str) -> int:
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def render_kind(summary: dict[str, Any]) -> str:
    """A one-page HTML report of a ``--kind`` run."""
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (
                str(p["name"]),
                "-" if p["skill"] is None else f"{p['skill']:.2f}",
                str(p["labels"]),
                f"{p['score']:.3f}",
                f"{p['paid']:.4f}",
                f"{p['claimed']:.4f}",
            )
        )
        + "</tr>"
        for p in summary["annotators"]
    )
    title = f"labelnet demo: a {summary['kind']} task"
    return (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Task {summary['task_id']}, {summary['items']} items, {summary['labels']} labels, "
        "an open task (seated tasks are categorical only), no gold. "
        f"Result {html.escape(summary['result_cid'])}.</p>"
        f"<p>{html.escape(summary['metric'])}: consensus <b>{summary['consensus']:.3f}</b>, "
        f"{html.escape(summary['baseline_name'])} baseline {summary['baseline']:.3f}.</p>"
        f"<p>{summary['payouts']} payouts, {summary['claims']} claimed "
        f"({'all' if summary['all_claimed'] else 'NOT all'}), "
        f"{summary['total_paid']:.4f} LABEL paid, in {summary['seconds']:.1f} s.</p>"
        "<table><tr><th>annotator</th><th>true skill</th><th>labels</th>"
        f"<th>{html.escape(summary['metric'])}</th><th>paid</th><th>claimed</th></tr>"
        f"{rows}</table>"
    )
