"""The manifest's ``allowlist`` field (``allowlist@1``): parsed in the one manifest parser,
its tree is the gate's allowlist tree, and a manifest without it keeps its bytes."""

from __future__ import annotations

import json

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.manifest import ItemSpec, Manifest, ManifestError, build_task_content
from node.protocol.manifest_allowlist import AllowlistFieldError, AllowlistParams
from node.protocol.merkle import Allowlist, account_leaf, verify_proof

A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
C = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _manifest(allowlist: AllowlistParams | None) -> Manifest:
    items = [ItemSpec(id=f"i{n}", data={"text": f"t{n}"}) for n in range(3)]
    return build_task_content(items, title="t", classes=("a", "b"), allowlist=allowlist).manifest


def test_round_trip_field_bytes_and_the_gates_tree() -> None:
    params = AllowlistParams.create([C.lower(), A, B])
    manifest = _manifest(params)
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    document = json.loads(manifest.to_bytes())
    assert document["allowlist"] == {
        "scheme": "labelnet/allowlist@1",
        "accounts": sorted([A, B, C], key=str.lower),
    }
    # The tree a node rebuilds from the field is the one whose root the requester states.
    tree = params.tree()
    assert tree.root == Allowlist.build([A, B, C]).root
    assert verify_proof(tree.root, account_leaf(B), tree.proof(B))


def test_a_manifest_without_an_allowlist_has_no_field_and_unchanged_bytes() -> None:
    manifest = _manifest(None)
    assert "allowlist" not in json.loads(manifest.to_bytes())
    assert Manifest.from_bytes(manifest.to_bytes()).allowlist is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("scheme", "labelnet/allowlist@2", "unknown allowlist scheme"),
        ("accounts", [], "1..10000"),
        ("accounts", [A.lower()], "checksummed"),
        ("accounts", [A, A], "sorted"),
        ("accounts", [A, B], "sorted"),  # not in address order
        ("accounts", A, "is a list"),
        ("extra", 1, "scheme, accounts"),
    ],
)
def test_malformed_fields_are_refused(field: str, value: object, message: str) -> None:
    document = json.loads(_manifest(AllowlistParams.create([A, B])).to_bytes())
    document["allowlist"][field] = value
    with pytest.raises(ManifestError, match=message):
        Manifest.from_bytes(canonical_json(document))


def test_create_refuses_duplicates_and_non_addresses() -> None:
    with pytest.raises(AllowlistFieldError, match="duplicate"):
        AllowlistParams.create([A, A.lower()])
    with pytest.raises(AllowlistFieldError, match="not an address"):
        AllowlistParams.create(["0x12"])
