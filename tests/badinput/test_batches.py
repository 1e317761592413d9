"""Bad label batches: a labeling program answering outside the class set, duplicate labels
in one batch, and revealed batches whose content does not match the committed root or the
task. The annotator's node never stores (or commits to) such a batch; a validator drops it,
names why, and pays the other annotators as if it had not been revealed.
"""

from __future__ import annotations

import logging

import pytest

from node.db.models import Commitment
from node.protocol.kinds import TaskKind
from node.protocol.labels import LABELS_V1, LabelBatch, LabelBatchError
from node.protocol.manifest import ItemSpec, Manifest, build_task_content
from node.roles.validator import check_batch
from tests.roles.network import TRUTH
from tests.roles.test_labeling import Node, Recording, node

__all__ = ["node"]  # fixtures used here

ANNOTATOR = "0x" + "a1" * 20


def old_task(kind: TaskKind = TaskKind.CATEGORICAL, classes: tuple[str, ...] = ()) -> Manifest:
    """A task over ``TRUTH``'s items from before paging (its batches are one document)."""
    items = [ItemSpec(item, data=item) for item in TRUTH]
    content = build_task_content(items, title="t", kind=kind, classes=classes, labels=LABELS_V1)
    return content.manifest


def revealed(root: LabelBatch, published: LabelBatch | None = None) -> Commitment:
    """The reveal committing to ``root``'s labels, published as ``published`` (``root``
    itself unless given)."""
    return Commitment(
        chain_id=1,
        task_id=1,
        annotator=ANNOTATOR,
        labels_root="0x" + root.root().hex(),
        labels_cid=(published or root).cid(),
    )


def test_labeling_program_answering_outside_the_class_set_stores_nothing(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    """Log line "task N: labeling batch not stored: item 'q1': 'horse' is not one of the
    task's classes"; no label stored, the cursor stays, a fixed program resumes there."""
    caplog.set_level(logging.WARNING, logger="node.roles.labeling")
    node.labeling(Recording(value="horse")).tick()
    assert node.labels() == {}
    assert (node.participation().labeling_cursor, node.participation().labeling_done) == (-1, False)
    assert [r.getMessage() for r in caplog.records] == [
        f"task {node.task_id}: labeling batch not stored: "
        "item 'q1': 'horse' is not one of the task's classes"
    ]
    node.labeling(Recording(value="dog"), batch=4).tick()
    assert node.labels() == {"q1": "dog", "q2": "dog", "img": "dog", "q3": "dog"}


def test_duplicate_labels_in_one_batch_are_refused() -> None:
    """LabelBatchError "a label batch has at most one label per item": one item cannot be
    committed with two values (which one would be paid?)."""
    with pytest.raises(LabelBatchError, match=r"^a label batch has at most one label per item$"):
        LabelBatch.create(1, ANNOTATOR, [("q1", "cat"), ("q2", "dog"), ("q1", "dog")])


def test_revealed_batch_with_duplicate_labels_is_dropped_by_validators() -> None:
    """Drop reason "not a label batch: LabelBatchError: a label batch has at most one label
    per item" for a hand-made document that repeats an item."""
    manifest = old_task(classes=("cat", "dog"))
    document = (
        b'{"annotator":"' + ANNOTATOR.encode() + b'","labels":[{"item":"q1","value":"cat"},'
        b'{"item":"q1","value":"dog"}],"schema":"labelnet/labels@1","task":1}'
    )
    reveal = Commitment(
        chain_id=1, task_id=1, annotator=ANNOTATOR, labels_root="0x" + "00" * 32, labels_cid="x"
    )
    reason = check_batch(document, reveal, manifest, frozenset(TRUTH))
    assert reason == (
        "not a label batch: LabelBatchError: a label batch has at most one label per item"
    )


def test_revealed_batch_whose_root_does_not_match_is_dropped() -> None:
    """Drop reason "root 0x<batch's root> is not the revealed 0x<committed root>": a batch
    published under a CID whose labels are not the committed ones is left out (the whole
    validator round is tested in tests/roles/test_validator_duty.py)."""
    manifest = old_task(classes=("cat", "dog"))
    committed = LabelBatch.create(1, ANNOTATOR, TRUTH.items())
    published = LabelBatch.create(1, ANNOTATOR, {**TRUTH, "q1": "dog"}.items())
    assert published.root() != committed.root()
    reveal = revealed(committed, published)
    reason = check_batch(published.to_bytes(), reveal, manifest, frozenset(TRUTH))
    assert reason == (
        f"root 0x{published.root().hex()} is not the revealed 0x{committed.root().hex()}"
    )
    honest = check_batch(committed.to_bytes(), reveal, manifest, frozenset(TRUTH))
    assert honest == committed


def test_revealed_batch_with_a_label_outside_the_class_set_is_dropped() -> None:
    """Drop reason "value 'bird' of item 'q1' is not a valid label" (why the node's API
    refuses such a label before it can be committed)."""
    manifest = old_task(classes=("cat", "dog"))
    batch = LabelBatch.create(1, ANNOTATOR, {**TRUTH, "q1": "bird"}.items())
    reveal = revealed(batch)
    reason = check_batch(batch.to_bytes(), reveal, manifest, frozenset(TRUTH))
    assert reason == "value 'bird' of item 'q1' is not a valid label"


def test_revealed_numeric_batch_with_an_integer_past_any_float_is_dropped() -> None:
    """Drop reason "value '1000...' of item 'q1' is not a valid label": a numeric label of
    401 digits has no float, which the consensus computes in. The drop rule raised
    OverflowError on it, which no validator caught: one such batch stopped every validator
    from attesting the task (and the tasks after it in the same tick)."""
    manifest = old_task(kind=TaskKind.NUMERIC)
    batch = LabelBatch.create(1, ANNOTATOR, {**dict.fromkeys(TRUTH, 3), "q1": 10**400}.items())
    reveal = revealed(batch)
    reason = check_batch(batch.to_bytes(), reveal, manifest, frozenset(TRUTH))
    assert reason == f"value '{str(10**400)[:80]}' of item 'q1' is not a valid label"
