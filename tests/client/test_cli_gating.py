"""``labelnet task create``'s gate options (docs/qualification.md): what rule they make, and
the one-line errors for the combinations the gate would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.cli.common import CliError
from client.cli.gating import gate_from_options, read_allowlist
from node.chain.qualifications import Gate, domain_id
from node.protocol.merkle import Allowlist
from tests.client.conftest import assert_one_line_error, run

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_no_gate_option_posts_an_ungated_task() -> None:
    assert gate_from_options(None, None, 0, 0.0, 0, 0.0) is None


def test_the_options_make_the_gate_rule(tmp_path: Path) -> None:
    listed = tmp_path / "experts.txt"
    listed.write_text(f"# vetted radiologists\n{A.lower()}\n\n{B}  # second\n")
    assert read_allowlist(listed) == [A, B]
    gate = gate_from_options("radiology", listed, 50, 0.9, 7, 0.85)
    assert gate == Gate(
        domain="radiology",
        allowlist_root=Allowlist.build([A, B]).root,
        min_accepted=50,
        min_accuracy_bps=9_000,
        qualification_task_id=7,
        qualification_accuracy_bps=8_500,
        allowlist=(A, B),
    )
    assert gate.as_tuple()[0] == domain_id("radiology")


def test_bad_gate_options_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="needs its accuracy"):
        gate_from_options("radiology", None, 0, 0.0, 7, 0.0)
    with pytest.raises(CliError, match="at most 32"):
        gate_from_options("x" * 33, None, 0, 0.0, 0, 0.0)
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{A}\nnot-an-address\n")
    with pytest.raises(CliError, match=r"bad\.txt:2"):
        read_allowlist(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n")
    with pytest.raises(CliError, match="lists no address"):
        read_allowlist(empty)
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a", "text": "x"}\n')
    result = run(
        "task", "create", str(items), "--reward-per-label", "1", "--validator-fee", "1",
        "--data-dir", str(tmp_path / "data"), "--domain", "radiology",
    )  # fmt: skip
    assert_one_line_error(result, "must be seated", "--batch-size")
