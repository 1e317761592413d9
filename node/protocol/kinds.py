"""Task kinds: what one label is. Its own module because both the manifest and the
consensus engine need it, and neither may import the other."""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    """What a label is: one class, a set of classes, a number, or (issue #20, their forms in
    :mod:`node.protocol.annotation`) boxes, text spans, a free text, a choice of a pair."""

    CATEGORICAL = "categorical"
    MULTILABEL = "multilabel"
    NUMERIC = "numeric"
    BOXES = "boxes"
    SPANS = "spans"
    TEXT = "text"
    PAIRWISE = "pairwise"
