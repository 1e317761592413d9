"""The committed contract artifacts must match the Solidity sources they came from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from node.chain.artifacts import (
    ARTIFACT_NAMES,
    ARTIFACTS_DIR,
    MANIFEST_NAME,
    load_artifact,
    sources_fingerprint,
)

ROOT = Path(__file__).resolve().parents[2]


def test_artifacts_are_not_stale() -> None:
    recorded = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())["sources_sha256"]
    assert recorded == sources_fingerprint(ROOT), (
        "contracts changed since the artifacts were built: "
        "run scripts/build_contracts.py and commit"
    )


def test_fingerprint_changes_with_any_source(tmp_path: Path) -> None:
    """Guard the guard: touching one source byte must change the fingerprint."""
    copy = tmp_path / "repo"
    (copy / "contracts").mkdir(parents=True)
    shutil.copytree(ROOT / "contracts" / "src", copy / "contracts" / "src")
    shutil.copy(ROOT / "foundry.toml", copy / "foundry.toml")
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    assert sources_fingerprint(copy) == sources_fingerprint(ROOT)
    market = copy / "contracts" / "src" / "TaskMarket.sol"
    market.write_text(market.read_text() + "\n// changed\n")
    assert sources_fingerprint(copy) != sources_fingerprint(ROOT)


def test_every_artifact_has_abi_and_bytecode() -> None:
    for name in ARTIFACT_NAMES:
        artifact = load_artifact(name)
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 1000
        assert any(entry["type"] == "function" for entry in artifact.abi)
