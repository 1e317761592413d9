"""Run Label Studio's own converter (``label_studio_sdk.converter``) on files labelnet wrote.

The SDK lives in ``.venv-labelstudio`` (see the ``labelstudio`` extra in pyproject.toml: it
would pin numpy below what labelnet runs on), so it runs in a subprocess. As with the Node
cross-checks, a missing install fails the test instead of skipping it: a skipped interop
test reads like a passing one.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any, Literal

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = REPO_ROOT / ".venv-labelstudio" / "bin" / "python"

_CONVERT = """
import sys
from label_studio_sdk.converter import Converter
config, source, out, fmt = sys.argv[1:]
converter = Converter(open(config).read(), project_dir=None, download_resources=False)
converter.convert(source, out, fmt, is_dir=False)
"""

Shape = Literal["JSON_MIN", "CSV"]


def convert(config: Path, export: Path, out_dir: Path, shape: Shape) -> Path:
    """Convert a Label Studio JSON export with the project's label config; the result file."""
    if not PYTHON.is_file():
        pytest.fail(
            f"{PYTHON} not found; run scripts/setup.sh to install label-studio-sdk", pytrace=False
        )
    command = [str(PYTHON), "-c", _CONVERT, str(config), str(export), str(out_dir), shape]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("Label Studio's converter did not finish within 180 s", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"Label Studio's converter failed:\n{done.stderr.strip()}", pytrace=False)
    return out_dir / ("result.csv" if shape == "CSV" else "result.json")


def converted_rows(config: Path, export: Path, out_dir: Path, shape: Shape) -> list[dict[str, Any]]:
    """The converter's rows (one per annotation) for ``export``, read back."""
    result = convert(config, export, out_dir, shape)
    if shape == "CSV":
        with result.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    rows: list[dict[str, Any]] = json.loads(result.read_text(encoding="utf-8"))
    return rows
