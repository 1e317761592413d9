"""The demo's error, apart so that the runner and its phase driver both raise it."""

from __future__ import annotations

from node.errors import LabelnetError


class DemoError(LabelnetError, RuntimeError):
    """The demo could not run to its end (the message says which phase and why)."""
