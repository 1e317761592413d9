"""Errors of the content stores.

Each one subclasses :class:`~node.errors.LabelnetError` and the builtin a caller would
reach for (``ValueError`` for a malformed CID, ``LookupError`` for content nobody has,
``ConnectionError`` for a backend that did not answer). The two integrity failures also
subclass their :mod:`node.protocol.unixfs` counterparts, so code that verifies DAGs directly
and code that goes through a store catch the same ``CidMismatchError``.
"""

from __future__ import annotations

from node.errors import LabelnetError
from node.protocol.unixfs import CidMismatchError, ContentError, ContentTooLargeError


class StoreError(LabelnetError):
    """Base class of every content-store error."""


class InvalidCidError(StoreError, ValueError):
    """A string that is not a CID this node can verify (bad encoding, unsupported hash)."""


class BlockNotFoundError(StoreError, LookupError):
    """No block (or no block of a file's DAG) under that CID in the store or at any peer."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The backend (a Kubo daemon, every peer gateway) could not be reached or failed."""


class StoreConfigError(StoreError, ValueError):
    """A backend configured with an address it cannot use (not a multiaddr, not a URL)."""


class BackendError(StoreError, RuntimeError):
    """The backend answered, but with an error or an answer we cannot use (a Kubo daemon
    whose import settings give other CIDs than ``ipfs add --cid-version=1``)."""


class BlockMismatchError(StoreError, CidMismatchError):
    """Bytes that do not hash to the CID they were stored or served under."""


class InvalidContentError(StoreError, ContentError):
    """Bytes that hash correctly but are not what was asked for (not a UnixFS file, a block
    over the size limit, a DAG whose sizes disagree)."""


class FileTooLargeError(StoreError, ContentTooLargeError):
    """A file whose root declares more bytes than the caller's ``max_size``."""
