"""The installed ``labelnet`` command runs and reports the bundled contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_labelnet_version_lists_bundled_contracts() -> None:
    executable = Path(sys.executable).parent / "labelnet"
    result = subprocess.run(
        [str(executable), "version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("labelnet 0.1.0")
    for name in ("LabelToken", "ValidatorStaking", "TaskMarket"):
        assert f"{name}:" in result.stdout
