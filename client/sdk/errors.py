"""The SDK's error root (under :class:`node.errors.LabelnetError`)."""

from __future__ import annotations

from node.errors import LabelnetError


class SdkError(LabelnetError):
    """Base of the errors the SDK raises itself; each also subclasses a builtin category."""
