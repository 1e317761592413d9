"""The demo report's admission section (``labelnet demo --qualified``): who the gated main
task admitted, and why, per labelling node (:func:`client.demo.qualified.admission_summary`).
"""

from __future__ import annotations

from html import escape
from typing import Any


def _verdict(row: dict[str, Any]) -> str:
    if row["admitted"]:
        return "admitted" + (", seated" if row["seated"] else ", not seated")
    return f"refused: {row['error']}"


def render_admission(admission: dict[str, Any]) -> str:
    """The rule, then one row per node: the accuracy the gate measured on the qualification
    task, the reputation in the domain after both tasks, the gate's verdict (the error that
    names the failed rule) and what the node logged when it skipped the task."""
    head = "".join(
        f"<th scope='col'>{h}</th>"
        for h in (
            "node",
            "worker",
            "qualification accuracy",
            "reputation (accepted / answered, tasks)",
            "verdict",
            "the node logged",
        )
    )
    body = []
    for row in admission["annotators"]:
        reputation = row["reputation"]
        cells = (
            row["name"],
            row["worker"] or "-",
            f"{row['qualification_accuracy']:.3f}",
            f"{reputation['accepted']} / {reputation['answered']}, {reputation['tasks']}",
            _verdict(row),
            row["logged"] or "-",
        )
        body.append(
            f"<tr class='{'admitted' if row['admitted'] else 'refused'}'>"
            + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells)
            + "</tr>"
        )
    return (
        "<h2>Who was admitted, and why</h2>"
        f"<p>Qualification task {admission['qualification_task']} "
        f"({admission['qualification_items']} items, every one gold) ran first; main task "
        f"{admission['main_task']} is gated on it. Its rule, as the gate states it: "
        f"<strong>{escape(admission['rule'])}</strong> — an account is admitted when it was "
        f"paid for at least {admission['pass_accuracy']:.0%} of its qualification batch. "
        f"Reputation is counted in the domain <code>{escape(admission['domain'])}</code> from "
        "both tasks' claims.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
