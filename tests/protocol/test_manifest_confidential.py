"""The manifest's ``confidential`` field: parsed in the one manifest parser, absent = public."""

from __future__ import annotations

import json

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.manifest import ItemSpec, Manifest, ManifestError, build_task_content
from node.protocol.manifest_confidential import ConfidentialError, ConfidentialParams
from node.protocol.sealed import key_commitment

VALIDATORS = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
]
KEY = bytes(range(32))


def _content(confidential: ConfidentialParams | None) -> Manifest:
    items = [ItemSpec(id=f"i{n}", data={"text": f"t{n}"}) for n in range(3)]
    content = build_task_content(items, title="t", classes=("a", "b"), confidential=confidential)
    return content.manifest


def test_round_trip_and_field_bytes() -> None:
    params = ConfidentialParams.create(key_commitment(KEY), VALIDATORS)
    manifest = _content(params)
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    document = json.loads(manifest.to_bytes())
    assert document["confidential"] == {
        "sealed": "labelnet/sealed@1",
        "commitment": key_commitment(KEY),
        "validators": sorted(VALIDATORS, key=str.lower),
    }
    assert params.names(VALIDATORS[0].lower()) and not params.names("0x" + "11" * 20)


def test_a_public_manifest_has_no_field_and_unchanged_bytes() -> None:
    manifest = _content(None)
    assert "confidential" not in json.loads(manifest.to_bytes())
    assert Manifest.from_bytes(manifest.to_bytes()).confidential is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sealed", "labelnet/sealed@2", "unknown sealing"),
        ("commitment", "AB" * 32, "lower-case hex"),
        ("commitment", "ab" * 31, "lower-case hex"),
        ("validators", [], "1..64"),
        ("validators", [VALIDATORS[0].lower()], "checksummed"),
        ("validators", [VALIDATORS[0], VALIDATORS[0]], "sorted"),
        ("validators", VALIDATORS, "sorted"),  # not in address order
        ("validators", "0x", "is a list"),
        ("extra", 1, "sealed, commitment, validators"),
    ],
)
def test_malformed_fields_are_refused(field: str, value: object, message: str) -> None:
    manifest = _content(ConfidentialParams.create(key_commitment(KEY), VALIDATORS))
    document = json.loads(manifest.to_bytes())
    document["confidential"][field] = value
    with pytest.raises(ManifestError, match=message):
        Manifest.from_bytes(canonical_json(document))


def test_params_check_on_construction() -> None:
    with pytest.raises(ConfidentialError, match=r"1\.\.64"):
        ConfidentialParams.create(key_commitment(KEY), [])
