"""The root of every error labelnet raises on purpose.

Each subsystem subclasses ``LabelnetError`` and, where the meaning fits, a builtin
(``ValueError`` for bad input, ``LookupError`` for missing things, ``RuntimeError`` for
failed operations), so callers can catch either the project's errors as a whole or the
usual Python categories. The API maps this one root to HTTP responses in one place.
"""

from __future__ import annotations


class LabelnetError(Exception):
    """Base class of every deliberate labelnet error."""
