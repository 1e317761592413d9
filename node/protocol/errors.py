"""Errors raised by the consensus engine.

Every error is a :class:`ConsensusError`, itself a :class:`~node.errors.LabelnetError` and
a :class:`ValueError`: the engine only ever fails because its input (answers, gold, task
parameters) is unusable, and callers such as a validator node want one exception type to
catch and report per task.
"""

from __future__ import annotations

from node.errors import LabelnetError


class ConsensusError(LabelnetError, ValueError):
    """Base class of every error the consensus engine raises."""


class InvalidAnswersError(ConsensusError):
    """The answers cannot be aggregated (empty, mismatched lengths, unknown class, ...)."""


class InvalidParameterError(ConsensusError):
    """An estimator or task parameter is out of its valid range."""


class NotFittedError(ConsensusError):
    """A fitted attribute was read before :meth:`fit` was called."""


class ResultDocumentError(LabelnetError, ValueError):
    """Bytes that are not a result document (``labelnet/result@1``, a ``result@2`` root or
    one of its pages) of the task they are read for, or a document that is not the task's
    winning result. Defined here so the paged schema's module and the document's parser
    share it without importing each other."""


class InvalidDealError(InvalidParameterError):
    """A ``deal@1`` input is unusable: seed, task shape, claimed seats, or a seat or item
    asked about that the deal does not have."""
