"""Which label values a task of each kind allows, and the numeric scale of numeric tasks.

One rule, applied by everyone who judges a label: the validators (a batch with an invalid
value is dropped, :mod:`node.roles.validation`), the node's API when a person labels, a
labeling program's output (:func:`node.labelers.base.check_value`), and the requester
checking its gold. A categorical label is a class id string, or an integer whose decimal
text is a class id (``3`` for class ``"3"``): that is what the consensus counts.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from node.protocol.annotation import RULES, AnnotationParams, check_value
from node.protocol.canonical import JsonValue
from node.protocol.errors import InvalidAnswersError, InvalidParameterError
from node.protocol.kinds import TaskKind

VALUE_DECIMALS = 6
"""Decimals kept in published numeric consensus values."""

SCALE = 10**VALUE_DECIMALS
DEFAULT_TOLERANCE = "0.5"
"""Numeric match tolerance until manifests carry one: half a unit (integer scales)."""


def categorical_value(value: JsonValue) -> str:
    """A label's class id: JSON strings as they are, integers as their decimal text."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidAnswersError(f"a categorical label must be a class id string, got {value!r}")


def valid_value(
    kind: TaskKind,
    classes: tuple[str, ...],
    value: JsonValue,
    annotation: AnnotationParams | None = None,
) -> bool:
    """Whether ``value`` is a label a task of ``kind`` with ``classes`` allows; the kinds of
    :mod:`node.protocol.annotation` are judged under the manifest's ``annotation`` (their
    defaults when it is not given), and :func:`~node.protocol.annotation.check_value` says
    why a value fails."""
    if kind in RULES:
        try:
            check_value(kind, classes, value, annotation or AnnotationParams(kind))
        except InvalidAnswersError:
            return False
        return True
    if kind is TaskKind.CATEGORICAL:
        try:
            return categorical_value(value) in classes
        except InvalidAnswersError:
            return False
    if kind is TaskKind.MULTILABEL:
        return (
            isinstance(value, list)
            and all(isinstance(v, str) and v in classes for v in value)
            and len(set(value)) == len(value)
        )
    if (
        kind is not TaskKind.NUMERIC
        or isinstance(value, bool)
        or not isinstance(value, int | float)
    ):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer past any float: the consensus, in floats, cannot take it
        return False


def tolerance_units(tolerance: str) -> int:
    """``tolerance`` (a decimal string) in whole 10^-6 units; it must be exact there."""
    try:
        scaled = Decimal(tolerance) * SCALE
    except InvalidOperation as exc:
        raise InvalidParameterError(f"tolerance {tolerance!r} is not a decimal") from exc
    if scaled < 0 or scaled != scaled.to_integral_value():
        raise InvalidParameterError(f"tolerance {tolerance!r}: >= 0 with at most 6 decimals")
    return int(scaled)
