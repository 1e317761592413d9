"""The demo report's admission section (``labelnet demo --qualified``): who the gated main
task admitted, and why, per labelling node (:func:`client.demo.qualified.admission_summary`).
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

_ADDRESS = re.compile(r"0x([0-9a-fA-F]{6})[0-9a-fA-F]{34}")


def _logged(line: str | None) -> str:
    """The node's skip line, short: the rule is in the paragraph above, addresses cut."""
    if line is None:
        return "-"
    return "skipped: " + _ADDRESS.sub(r"0x\1…", line.split(" (rule: ", 1)[0])


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
            "qualification accuracy (share of the batch paid)",
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
            _logged(row["logged"]),
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
        f"paid for at least {admission['pass_accuracy']:.0%} of its qualification batch (gold "
        "only, so the share it answered right, or 0 if the reward rule's evidence test did not "
        "pay it: the worker name gives the accuracy it was simulated with). "
        f"Reputation is counted in the domain <code>{escape(admission['domain'])}</code> from "
        "both tasks' claims.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
