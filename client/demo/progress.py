"""Live progress of a demo on the terminal (Rich), or nothing for ``--json`` runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table


class Progress:
    """Phase bars and notes; with ``quiet`` only ``on_event`` hears about them."""

    def __init__(self, *, quiet: bool, on_event: Callable[[str], None] | None = None) -> None:
        self.quiet = quiet
        self.on_event = on_event
        self.console = Console(stderr=True)

    def note(self, message: str) -> None:
        if self.on_event is not None:
            self.on_event(message)
        if not self.quiet:
            self.console.print(f"[bold cyan]•[/] {message}")

    @contextmanager
    def phase(self, name: str, total: int) -> Iterator[Callable[[int], None]]:
        """A bar for one phase; yields ``update(done)``."""
        self.note(f"{name}: waiting for {total}")
        if self.quiet:
            yield lambda done: None
            return
        columns = (
            TextColumn(f"[bold]{name:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=self.console, transient=False) as bar:
            task = bar.add_task(name, total=total)
            yield lambda done: bar.update(task, completed=done)

    @staticmethod
    def document(summary: dict[str, Any], report: Path) -> None:
        """``--json``: one JSON document on stdout, the summary with where its report is."""
        print(json.dumps({**summary, "report": str(report)}, indent=2, sort_keys=True))

    def summary(self, summary: dict[str, Any], report: Path, *, as_json: bool) -> None:
        if as_json:
            self.document(summary, report)
            return
        if self.quiet:
            return
        table = Table(title="labelnet demo", show_header=False)
        accuracy = summary["accuracy"]
        table.add_row("data set", f"{summary['dataset']} ({summary['items']} items)")
        table.add_row("labels", f"{summary['labels']:,}")
        table.add_row("consensus accuracy", f"{accuracy['consensus']:.4f} (on non-gold items)")
        table.add_row("majority vote accuracy", f"{accuracy['majority_vote']:.4f}")
        table.add_row("honest pay / label", f"{summary['pay']['honest_per_label']:.6f} LABEL")
        table.add_row("spammer pay / label", f"{summary['pay']['spammer_per_label']:.6f} LABEL")
        seats = summary["assignment"]
        if seats["seated"]:
            table.add_row(
                "seats",
                f"{seats['seats_claimed']}/{seats['seats']} of {seats['batch_size']} items, "
                f"max {seats['max_labels_per_item']} labels per item (k = {seats['redundancy']})",
            )
        rates = ", ".join(f"{r:.6f}" for r in seats["pay_per_accepted_label"]) or "-"
        table.add_row("pay / accepted label", f"{rates} LABEL (posted {seats['posted_rate']:.6f})")
        for slash in summary["slashing"]:
            table.add_row(f"slashed {slash['name']}", f"{slash['slashed']:,.2f} LABEL")
        review = summary.get("review")
        if review is not None:
            table.add_row(
                "review",
                f"{review['contested']} contested, errors {review['contested_errors_before']} → "
                f"{review['contested_errors_after']}",
            )
            for r in review["reviewers"]:
                table.add_row(
                    f"reviewer {r['name']} ({r['kind']})",
                    f"pay {int(r['pay']) / 10**18:.4f}, net {int(r['net_change']) / 10**18:+.4f}",
                )
        table.add_row("tokens accounted", "yes" if summary["accounting"]["balanced"] else "NO")
        table.add_row("wall time (post → last claim)", f"{summary['seconds']:.1f} s")
        self.console.print(table)
        pay = summary["pay"]
        if pay["paid_annotators"] == 0:
            self.console.print(
                "nobody was paid: no annotator's answers showed skill beyond chance under the "
                f"reward rule's evidence test (best evidence {pay['best_evidence']:.2f} standard "
                "errors; the task asks for more). The task finalized with a total payout of 0, "
                f"so the requester's {pay['refunded']:,.2f} LABEL came back. Give the demo more "
                "--items for skill to show."
            )
        self.console.print(f"report: {report}")
