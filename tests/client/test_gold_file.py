"""The requester's gold file (``labelnet task create --gold-file``): what it reads, and that a
malformed file is one :class:`TaskSpecError`, never a crash of the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.sdk.requester import TaskSpecError, read_gold_file
from node.protocol.canonical import MAX_JSON_DEPTH

DEEP = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)


def test_gold_file_as_an_object_or_as_lines(tmp_path: Path) -> None:
    whole = tmp_path / "gold.json"
    whole.write_text('{"q1": "cat", "2": ["a", "b"]}')
    assert read_gold_file(whole) == {"q1": "cat", "2": ["a", "b"]}
    lines = tmp_path / "gold.jsonl"
    lines.write_text('{"item": "q1", "value": "cat"}\n\n{"item": 2, "value": 7.5}\n')
    assert read_gold_file(lines) == {"q1": "cat", "2": 7.5}


@pytest.mark.parametrize(
    "text",
    [
        '{"q1": ' + DEEP + "}",
        '{"item": "q1", "value": "cat"}\n{"item": "q2", "value": ' + DEEP + "}\n",
    ],
)
def test_gold_file_nested_too_deep_is_refused(tmp_path: Path, text: str) -> None:
    """TaskSpecError "<file>: JSON nested 66 deep (at most 64)". Was parsed with a bare
    ``json.loads``: under web3's recursion limit a file a few hundred thousand deep killed
    the process with SIGSEGV (a depth past the limit is enough to show the check)."""
    path = tmp_path / "gold.json"
    path.write_text(text)
    with pytest.raises(TaskSpecError) as refused:
        read_gold_file(path)
    assert str(refused.value) == (
        f"{path}: JSON nested {MAX_JSON_DEPTH + 2} deep (at most {MAX_JSON_DEPTH})"
    )
