"""The manifest's ``review`` section (issue #17): parsed by the one manifest parser, written
back to the same bytes, absent from every other manifest (whose bytes do not change), and
refused where it cannot apply."""

from __future__ import annotations

import json

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, Manifest, ManifestError, build_task_content
from node.protocol.review import ReviewParams

ITEMS = [ItemSpec(f"i{n}", data={"text": str(n)}) for n in range(10)]


def test_a_review_section_round_trips_and_its_absence_changes_no_byte() -> None:
    params = ReviewParams.create(10, 30, contested_share="0.2", contested_below="0.9")
    plain = build_task_content(ITEMS, title="t", classes=("a", "b"))
    reviewed = build_task_content(ITEMS, title="t", classes=("a", "b"), review=params)
    assert "review" not in json.loads(plain.manifest_bytes)
    parsed = Manifest.from_bytes(reviewed.manifest_bytes)
    assert parsed.review == params
    assert parsed.to_bytes() == reviewed.manifest_bytes
    assert json.loads(reviewed.manifest_bytes)["review"] == params.document()
    without = {k: v for k, v in json.loads(reviewed.manifest_bytes).items() if k != "review"}
    assert canonical_json(without) == plain.manifest_bytes
    assert Manifest.from_bytes(plain.manifest_bytes).review is None


@pytest.mark.parametrize(
    "section",
    [
        "review@1",
        {"rule": "review@2", "contested": "contested@1"},
        {**ReviewParams.create(10, 30).document(), "fee_per_vote": "010"},
        {**ReviewParams.create(10, 30).document(), "max_reviewers": 33},
    ],
)
def test_a_malformed_review_section_is_a_manifest_error(section: object) -> None:
    document = json.loads(build_task_content(ITEMS, title="t", classes=("a", "b")).manifest_bytes)
    document["review"] = section
    with pytest.raises(ManifestError, match="review"):
        Manifest.from_bytes(canonical_json(document))


def test_only_a_categorical_task_has_a_review() -> None:
    with pytest.raises(ManifestError, match="contested@1 is categorical"):
        build_task_content(
            ITEMS,
            title="t",
            kind=TaskKind.MULTILABEL,
            classes=("a", "b"),
            review=ReviewParams.create(10, 30),
        )
