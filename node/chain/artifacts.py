"""Compiled contract artifacts shipped inside the package.

``scripts/build_contracts.py`` writes them from ``forge build``. The manifest records a
fingerprint of everything that determines the bytecode (Solidity sources, compiler
settings, compiler and OpenZeppelin versions) so a test can tell when they are stale.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
MANIFEST_NAME = "manifest.json"
ARTIFACT_NAMES = (
    "LabelToken",
    "ValidatorStaking",
    "TaskMarket",
    "NodeRegistry",
    "ReviewBoard",
    "TaskKeys",
    "Qualifications",
)

_COMPILE_SETTINGS = ("solc", "optimizer", "optimizer_runs", "evm_version", "via_ir", "remappings")


class ArtifactError(LookupError):
    """An artifact is missing or malformed (the package was built without them)."""


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


@cache
def load_artifact(name: str) -> Artifact:
    """Load a committed artifact by contract name."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ArtifactError(f"no artifact for {name}: run scripts/build_contracts.py") from exc
    return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"])


def sources_fingerprint(root: Path) -> str:
    """SHA-256 over the inputs that decide the bytecode, from a repository checkout."""
    digest = hashlib.sha256()
    sources = sorted((root / "contracts" / "src").rglob("*.sol"))
    for path in sources:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    profile = tomllib.loads((root / "foundry.toml").read_text())["profile"]["default"]
    settings = {key: profile.get(key) for key in _COMPILE_SETTINGS}
    digest.update(json.dumps(settings, sort_keys=True).encode() + b"\0")
    for package in ("solc", "@openzeppelin/contracts"):
        manifest = root / "node_modules" / package / "package.json"
        version = json.loads(manifest.read_text())["version"] if manifest.exists() else "missing"
        digest.update(f"{package}@{version}".encode() + b"\0")
    return digest.hexdigest()
