"""``labelnet demo --json`` prints one JSON document: the summary with its report's path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.demo.progress import Progress


def test_json_summary_is_one_document_naming_the_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    Progress(quiet=True).summary({"items": 3, "labels": 9}, report, as_json=True)
    out = capsys.readouterr().out
    assert json.loads(out) == {"items": 3, "labels": 9, "report": str(report)}
