"""The readers of paged batches and gold (``labelnet/labels@2``, ``labelnet/gold@2``) against
arbitrary roots and pages: anything either reads or raises the schema's error
(:class:`LabelBatchError`, :class:`ManifestError`), never a KeyError, TypeError or the like;
``fetch``'s own errors are the only others that pass through."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from node.protocol.cid import compute_cid
from node.protocol.gold import read_gold
from node.protocol.labels import LABEL_PAGE_SCHEMA, LABELS_V2, LabelBatchError, read_batch
from node.protocol.manifest import GOLD_PAGE_SCHEMA, GOLD_V2, ManifestError
from tests.fuzz.test_parsers import FUZZ, addresses, as_bytes, json_values, shaped

ANNOTATOR = "0xAbAbABaBaBABabABAbaBabaBABaBABAbabaBAbAb"


def pages_of(schema: str) -> st.SearchStrategy[dict[str, Any]]:
    """A page of ``schema`` whose fields hold anything, or nearly right ones."""
    return shaped(schema, ["task", "annotator", "page", "labels"]) | st.fixed_dictionaries(
        {
            "schema": st.just(schema),
            "task": st.just(1) | json_values,
            "annotator": st.just(ANNOTATOR) | addresses,
            "page": st.just(0) | json_values,
            "labels": st.lists(
                st.fixed_dictionaries({"item": json_values | st.text(), "value": json_values}),
                max_size=3,
            ),
        }
    )


def stored(pages: list[dict[str, Any]]) -> tuple[dict[str, bytes], list[str]]:
    blobs = {compute_cid(as_bytes(page)): as_bytes(page) for page in pages}
    return blobs, [compute_cid(as_bytes(page)) for page in pages]


@FUZZ
@given(
    root=shaped(LABELS_V2, ["task", "annotator", "label_count", "label_pages"]),
    pages=st.lists(pages_of(LABEL_PAGE_SCHEMA), min_size=1, max_size=3),
    count=st.integers(min_value=-1, max_value=4),
)
def test_paged_batch_reader_raises_only_label_batch_errors(
    root: dict[str, Any], pages: list[dict[str, Any]], count: int
) -> None:
    blobs, cids = stored(pages)
    wellformed = {
        "schema": LABELS_V2,
        "task": 1,
        "annotator": ANNOTATOR,
        "label_count": count,
        "label_pages": cids,
    }
    for document in (root, wellformed):
        with contextlib.suppress(LabelBatchError):
            read_batch(
                as_bytes(document),
                blobs.__getitem__,
                task_id=1,
                annotator=ANNOTATOR,
                labels_root=bytes(32),
                schema=LABELS_V2,
            )


@FUZZ
@given(
    root=shaped(GOLD_V2, ["label_count", "label_pages"]),
    pages=st.lists(pages_of(GOLD_PAGE_SCHEMA), min_size=1, max_size=3),
    count=st.integers(min_value=-1, max_value=4),
)
def test_paged_gold_reader_raises_only_manifest_errors(
    root: dict[str, Any], pages: list[dict[str, Any]], count: int
) -> None:
    blobs, cids = stored(pages)
    wellformed = {"schema": GOLD_V2, "label_count": count, "label_pages": cids}
    for document in (root, wellformed):
        with contextlib.suppress(ManifestError):
            read_gold(as_bytes(document), blobs.__getitem__, gold_root=None, schema=GOLD_V2)
