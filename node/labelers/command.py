"""``cmd:<command line>``: a labeling program in any language, one subprocess per batch.

Protocol (JSON Lines, UTF-8): the program reads one line per item on stdin::

    {"task": 7, "kind": "categorical", "classes": ["cat", "dog"], "item": "q1",
     "data": {...}, "content_b64": "..." | null}

and writes one line per item, in the same order, on stdout::

    {"item": "q1", "value": "cat"}        (or "value": null to skip the item)

The command line is split with :func:`shlex.split` and run without a shell, so nothing in
the setting is interpreted twice. A program that exits non-zero, times out, or answers
anything but exactly one well-formed line per item in order fails the whole batch with
the tail of its stderr: half a batch is never stored.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
from collections.abc import Sequence

from node.labelers.base import ItemToLabel, LabelerError, LabelingTask
from node.protocol.canonical import DocumentTooDeepError, JsonValue, check_json_depth

DEFAULT_TIMEOUT = 300.0
STDERR_TAIL = 2000
"""Characters of the program's stderr quoted in an error."""


def _tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace").strip()
    return text[-STDERR_TAIL:] if text else "(no stderr)"


class CommandLabeler:
    """Runs ``command`` once per batch with the JSON Lines protocol above."""

    def __init__(self, command: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise LabelerError(f"cmd: cannot parse the command line {command!r}: {exc}") from exc
        if not self.argv:
            raise LabelerError("cmd: the command line is empty")
        self.timeout = timeout

    def _request(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> bytes:
        lines = [
            json.dumps(
                {
                    "task": task.task_id,
                    "kind": str(task.kind),
                    "classes": list(task.classes),
                    "item": item.item_id,
                    "data": item.data,
                    "content_b64": None
                    if item.content is None
                    else base64.b64encode(item.content).decode("ascii"),
                },
                separators=(",", ":"),
            )
            for item in items
        ]
        return ("\n".join(lines) + "\n").encode()

    def label(self, task: LabelingTask, items: Sequence[ItemToLabel]) -> list[JsonValue | None]:
        if not items:
            return []
        name = self.argv[0]
        try:
            done = subprocess.run(
                self.argv,
                input=self._request(task, items),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LabelerError(
                f"cmd: {name} did not answer within {self.timeout:g} s: {_tail(exc.stderr or b'')}"
            ) from exc
        except OSError as exc:
            raise LabelerError(f"cmd: cannot run {name}: {exc}") from exc
        if done.returncode != 0:
            raise LabelerError(f"cmd: {name} exited with {done.returncode}: {_tail(done.stderr)}")
        return self._parse(name, items, done.stdout, done.stderr)

    @staticmethod
    def _parse(
        name: str, items: Sequence[ItemToLabel], stdout: bytes, stderr: bytes
    ) -> list[JsonValue | None]:
        lines = [line for line in stdout.decode("utf-8", errors="replace").splitlines() if line]
        if len(lines) != len(items):
            raise LabelerError(
                f"cmd: {name} answered {len(lines)} lines for {len(items)} items: {_tail(stderr)}"
            )
        values: list[JsonValue | None] = []
        for item, line in zip(items, lines, strict=True):
            try:
                # Depth first: py_ecc lifts the recursion limit, so json.loads of a deep
                # enough line overflows the C stack and kills the node instead of raising.
                check_json_depth(line.encode())
                answer = json.loads(line)
            except (json.JSONDecodeError, DocumentTooDeepError) as exc:
                raise LabelerError(
                    f"cmd: {name} wrote invalid JSON {line[:80]!r}: {_tail(stderr)}"
                ) from exc
            if not isinstance(answer, dict) or set(answer) != {"item", "value"}:
                raise LabelerError(
                    f'cmd: {name} wrote {line[:80]!r}, expected {{"item": .., "value": ..}}'
                )
            if answer["item"] != item.item_id:
                raise LabelerError(
                    f"cmd: {name} answered item {answer['item']!r} where {item.item_id!r} "
                    f"was expected (one line per item, in order): {_tail(stderr)}"
                )
            values.append(answer["value"])
        return values
