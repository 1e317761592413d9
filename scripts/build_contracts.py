#!/usr/bin/env python3
"""Build the contracts with forge and write their ABI + bytecode into the Python package.

The node talks to a chain with nothing but ``pip install labelnet``, so the artifacts it
deploys and calls live inside the package (``node/chain/artifacts``). They are committed;
``tests/chain/test_artifacts.py`` fails when they are older than the Solidity sources.

Usage: scripts/build_contracts.py [--check]   (--check: exit 1 if the artifacts are stale)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.chain.artifacts import (  # noqa: E402  (the repository root is not installed here)
    ARTIFACT_NAMES,
    ARTIFACTS_DIR,
    MANIFEST_NAME,
    sources_fingerprint,
)


def build() -> None:
    forge = ROOT / "node_modules" / ".bin" / "forge"
    subprocess.run(
        [str(forge), "build", "--skip", "test", "--skip", "script"], cwd=ROOT, check=True
    )
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for name in ARTIFACT_NAMES:
        compiled = json.loads(
            (ROOT / "contracts" / "out" / f"{name}.sol" / f"{name}.json").read_text()
        )
        artifact = {
            "contractName": name,
            "abi": compiled["abi"],
            "bytecode": compiled["bytecode"]["object"],
            "deployedBytecode": compiled["deployedBytecode"]["object"],
            "compiler": compiled["metadata"]["compiler"]["version"],
        }
        (ARTIFACTS_DIR / f"{name}.json").write_text(
            json.dumps(artifact, indent=1, sort_keys=True) + "\n"
        )
    manifest = {"sources_sha256": sources_fingerprint(ROOT), "contracts": list(ARTIFACT_NAMES)}
    (ARTIFACTS_DIR / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {len(ARTIFACT_NAMES)} artifacts to {ARTIFACTS_DIR.relative_to(ROOT)}")


def check() -> int:
    manifest_path = ARTIFACTS_DIR / MANIFEST_NAME
    if not manifest_path.exists():
        print("no artifacts: run scripts/build_contracts.py", file=sys.stderr)
        return 1
    recorded = json.loads(manifest_path.read_text())["sources_sha256"]
    if recorded != sources_fingerprint(ROOT):
        print("artifacts are stale: run scripts/build_contracts.py and commit", file=sys.stderr)
        return 1
    print("artifacts are up to date")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that artifacts are fresh")
    args = parser.parse_args()
    if args.check:
        return check()
    build()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
