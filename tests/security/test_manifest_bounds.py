"""Issue #13, high finding: requester-chosen thresholds that pay nobody.

Before: a manifest could set ``accuracy_floor`` or ``skill_floor`` to 1; annotator nodes
joined anyway, with annotators at 90% accuracy the payout was 0, validators skipped, the task
ended disputed and the requester was refunded in full while the labels were public. Now a
threshold above its stated bound makes the manifest invalid: the requester cannot build it,
and an annotator node declines it (see tests/roles/test_loader.py for the join path).
"""

from __future__ import annotations

import pytest

from node.protocol.canonical import canonical_json
from node.protocol.manifest import (
    THRESHOLD_BOUNDS,
    ConsensusParams,
    ItemSpec,
    Manifest,
    ManifestError,
    build_task_content,
)


@pytest.mark.parametrize("name", sorted(THRESHOLD_BOUNDS))
def test_a_threshold_above_its_bound_makes_the_manifest_invalid(name: str) -> None:
    content = build_task_content(
        [ItemSpec("a", data="x")], title="t", classes=("yes", "no"), consensus=ConsensusParams()
    )
    document = content.manifest.document()
    consensus = dict(document["consensus"])  # type: ignore[arg-type]
    consensus[name] = "1" if name != "significance_z" else "9"
    with pytest.raises(ManifestError, match=f"consensus.{name} is .* above the highest"):
        Manifest.from_bytes(canonical_json({**document, "consensus": consensus}))
    with pytest.raises(ManifestError, match=f"consensus.{name}"):
        ConsensusParams(**{name: consensus[name]})


@pytest.mark.parametrize("name", sorted(THRESHOLD_BOUNDS))
def test_a_threshold_at_its_bound_is_allowed(name: str) -> None:
    params = ConsensusParams(**{name: THRESHOLD_BOUNDS[name]})
    content = build_task_content(
        [ItemSpec("a", data="x")], title="t", classes=("yes", "no"), consensus=params
    )
    assert Manifest.from_bytes(content.manifest_bytes).consensus == params
