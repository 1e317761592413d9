"""The demo's HTML report: one self-contained file with inline SVG charts.

No script, no stylesheet or font from anywhere else: the report opens offline and can be
attached to an issue as it is. Every number drawn is also in ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from client.demo.report_admission import render_admission

HONEST, SPAMMER, LIAR, NEUTRAL = "#2b6cb0", "#c53030", "#c05621", "#4a5568"
WIDTH = 640


def _bars(rows: Sequence[tuple[str, float, str]], *, unit: str = "", digits: int = 3) -> str:
    """Horizontal bars: (label, value, colour) per row, scaled to the largest value."""
    height = 26 * len(rows) + 10
    top = max((value for _, value, _ in rows), default=0.0) or 1.0
    parts = [f'<svg role="img" viewBox="0 0 {WIDTH} {height}" width="100%">']
    for i, (label, value, colour) in enumerate(rows):
        y = 5 + 26 * i
        length = (WIDTH - 260) * value / top
        parts.append(
            f'<text x="150" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="160" y="{y}" width="{length:.1f}" height="20" fill="{colour}"/>'
            f'<text x="{165 + length:.1f}" y="{y + 16}">{value:,.{digits}f}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _scatter(points: Sequence[tuple[float, float, str, str]]) -> str:
    """Estimated (y) against true (x) accuracy, both on [0, 1], with the diagonal."""
    size, pad = 360, 40
    span = size - 2 * pad

    def at(value: float) -> float:
        return pad + span * value

    parts = [
        f'<svg role="img" viewBox="0 0 {size} {size}" width="{size}">',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#cbd5e0"/>',
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#a0aec0"/>',
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">true accuracy (vs gold)</text>',
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
        'text-anchor="middle">estimated by consensus</text>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{at(tick)}" y="{size - pad + 14}" text-anchor="middle">{tick}</text>'
            f'<text x="{pad - 4}" y="{size - at(tick) + 4}" text-anchor="end">{tick}</text>'
        )
    for x, y, colour, label in points:
        parts.append(
            f'<circle cx="{at(x):.1f}" cy="{size - at(y):.1f}" r="5" fill="{colour}">'
            f"<title>{escape(label)}: true {x:.3f}, estimated {y:.3f}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(summary: dict[str, Any]) -> str:
    """The report's HTML."""
    accuracy = summary["accuracy"]
    people = summary["annotator_table"]
    colour = {"honest": HONEST, "spammer": SPAMMER}
    pay_rows = [(p["name"], p["pay_per_label"], colour[p["kind"]]) for p in people]
    points = [
        (p["true_accuracy"], p["estimated_accuracy"], colour[p["kind"]], p["name"]) for p in people
    ]
    gas_rows = [(name, float(step["mean"]), NEUTRAL) for name, step in summary["gas"].items()]
    phases = [(name, float(seconds), NEUTRAL) for name, seconds in summary["timings"].items()]
    slash_rows = [
        (
            s["name"],
            "wrong root" if s["adversary"] else "honest",
            f"{s['stake_before']:,.2f}",
            f"{s['stake_after']:,.2f}",
            f"{s['slashed']:,.2f}",
            f"{s['rewarded']:,.4f}",
        )
        for s in summary["slashing"]
    ]
    people_rows = [
        (
            p["name"],
            p["kind"],
            p["worker"] or "-",
            p["labels"],
            f"{p['true_accuracy']:.3f}",
            f"{p['true_skill']:.2f}",
            f"{p['estimated_accuracy']:.3f}",
            f"{p['estimated_skill']:.2f}",
            f"{p['evidence']:.2f}" + ("" if p["eligible"] else " (unpaid)"),
            f"{p['pay']:.4f}",
        )
        for p in people
    ]
    balanced = summary["accounting"]["balanced"]
    sections = [
        f"<h1>labelnet demo — {escape(summary['dataset'])}</h1>",
        "<p>"
        f"{summary['items']} items, {summary['labels']:,} labels from {summary['annotators']} "
        f"replayed workers and {summary['spammers']} spammers, {summary['validators']} "
        f"validators; {summary['nodes']} node processes. Posting to last claim: "
        f"<strong>{summary['seconds']:.1f} s</strong>. Result document "
        f"<code>{escape(summary['result_cid'])}</code>.</p>",
        *([render_admission(summary["admission"])] if "admission" in summary else []),
        "<h2>Consensus accuracy against gold</h2>",
        f"<p>On the {accuracy['scored_items']} items whose gold was not revealed.</p>",
        _bars(
            [
                ("labelnet consensus", accuracy["consensus"], HONEST),
                ("majority vote", accuracy["majority_vote"], NEUTRAL),
            ]
        ),
        "<h2>Annotators: estimated vs true accuracy</h2>",
        '<p><span class="key honest">honest</span> <span class="key spammer">spammer</span></p>',
        _scatter(points),
        "<h2>Pay per label (LABEL)</h2>",
        _bars(pay_rows, digits=5),
        _table(
            [
                "node",
                "kind",
                "worker",
                "labels",
                "true acc.",
                "kappa",
                "est. acc.",
                "est. kappa",
                "evidence (s.e.)",
                "paid (LABEL)",
            ],
            people_rows,
        ),
        "<h2>What the task promised an annotator</h2>",
        _assignment(summary["assignment"]),
        "<h2>Validators and slashing</h2>",
        _table(
            ["validator", "attested", "stake before", "stake after", "slashed", "fee"], slash_rows
        ),
        *_review(summary.get("review")),
        "<h2>Gas per step (mean per transaction)</h2>",
        _bars(gas_rows, unit=" gas", digits=0),
        _table(
            ["function", "transactions", "total gas", "mean"],
            [(n, s["count"], f"{s['gas']:,}", f"{s['mean']:,}") for n, s in summary["gas"].items()],
        ),
        *_task_gas(summary.get("task_gas")),
        "<h2>Wall time (seconds since posting, when each phase completed)</h2>",
        _bars(phases, unit=" s", digits=1),
        "<h2>Token accounting</h2>",
        f"<p>Market balance {summary['accounting']['market_balance']} wei; still owed "
        f"{summary['accounting']['still_owed']} wei: "
        f"<strong>{'balanced' if balanced else 'NOT balanced'}</strong>.</p>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>labelnet demo — {escape(summary['dataset'])}</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;"
        "color:#1a202c}svg text{font-size:12px;fill:#2d3748}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #e2e8f0;padding:3px 8px;text-align:left}"
        f".key{{padding:1px 8px;color:#fff}}.honest{{background:{HONEST}}}"
        f".spammer{{background:{SPAMMER}}}"
        "</style></head><body>" + "".join(sections) + "</body></html>"
    )


def _assignment(assignment: dict[str, Any]) -> str:
    """The seats, the batch and the pay per accepted label against the posted rate."""
    rates = ", ".join(f"{rate:.4f}" for rate in assignment["pay_per_accepted_label"]) or "-"
    if not assignment["seated"]:
        return (
            f"<p>An open task (no seats): every node may label every item; k = "
            f"{assignment['redundancy']}, at most {assignment['max_labels_per_item']} labels per "
            f"item. Pay per accepted label {rates} LABEL, posted rate "
            f"{assignment['posted_rate']:.4f} LABEL (scaled down pro rata if the pool is "
            "short).</p>"
        )
    exact = "exactly the posted rate" if assignment["exact_rate"] else "NOT the posted rate"
    return (
        f"<p>A seated task: {assignment['seats_claimed']} of {assignment['seats']} seats "
        f"claimed, each dealt {assignment['batch_size']} items (the least batch with which an "
        f"annotator of accuracy 0.8 passes the evidence test: {assignment['min_batch_size']}); "
        f"k = {assignment['redundancy']}, at most <strong>{assignment['max_labels_per_item']}"
        f"</strong> labels per item. Pay per accepted label {rates} LABEL: <strong>{exact}"
        f"</strong> ({assignment['posted_rate']:.4f} LABEL).</p>"
    )


def _review(review: dict[str, Any] | None) -> list[str]:
    """The review round: contested items, errors before and after, each reviewer's money."""
    if review is None:
        return []
    rows = [
        (
            escape(r["name"]),
            escape(r["program"]),
            f"{r['checks_correct']}/{r['checks']}",
            "yes" if r["eligible"] else "no",
            f"{r['coherent']}/{r['incoherent']}",
            f"{int(r['pay']) / 10**18:.4f}",
            f"{int(r['slashed']) / 10**18:.4f}",
            f"{int(r['net_change']) / 10**18:+.4f}",
        )
        for r in review["reviewers"]
    ]
    return [
        "<h2>Review round</h2>",
        f"<p>{review['contested']} contested items ({review['hidden_gold_checks']} of them "
        f"hidden gold checks); errors on them <strong>{review['contested_errors_before']} before"
        f"</strong> review, <strong>{review['contested_errors_after']} after</strong>. "
        f"{review['votes_bought']} votes bought at {int(review['fee_per_vote']) / 10**18:.4f} "
        f"LABEL; slash {int(review['slash_per_vote']) / 10**18:.4f} LABEL per incoherent vote; "
        f"{int(review['burned']) / 10**18:.4f} LABEL burned.</p>",
        _table(
            [
                "reviewer",
                "program",
                "checks right",
                "eligible",
                "coherent/incoherent",
                "pay",
                "slashed",
                "net (LABEL)",
            ],
            rows,
        ),
        _review_gas(review.get("gas", {}), len(review["reviewers"])),
    ]


def _task_gas(task_gas: dict[str, Any] | None) -> list[str]:
    """A gated task's own gas per label (issue #19's bar, BENCHMARKS.md "A gated task")."""
    if not task_gas or task_gas.get("per_label") is None:
        return []
    calls = ", ".join(f"{name} {step['count']}" for name, step in task_gas["by_function"].items())
    return [
        f"<p>Task {task_gas['task_id']}'s own transactions ({calls}): "
        f"{task_gas['total']:,} gas for {task_gas['labels']:,} labels dealt, "
        f"<strong>{task_gas['per_label']:,} gas per label</strong>.</p>"
    ]


def _review_gas(gas: dict[str, dict[str, int]], reviewers: int) -> str:
    """Gas of the round as the chain charged it (receipts), per ReviewBoard function."""
    if not gas:
        return ""
    parts = [
        f"{name} {entry['calls']} calls, {entry['gas'] // max(entry['calls'], 1):,}"
        for name, entry in sorted(gas.items())
    ]
    total = sum(entry["gas"] for entry in gas.values())
    return (
        f"<p>Gas (receipts, mean per call): {escape('; '.join(parts))}. "
        f"Total {total:,}, {total // max(reviewers, 1):,} per reviewer.</p>"
    )


def write_report(summary: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(summary), encoding="utf-8")
    return path
