"""Errors of the node's use cases, each under the builtin category its HTTP status follows.

:func:`node.api.errors.status_for` maps the category once (``LookupError`` 404,
``FileExistsError`` 409, ``ValueError`` 422, else 503), so these classes are the whole
contract between the use cases and the API.
"""

from __future__ import annotations

from node.errors import LabelnetError


class ResultNotKnownError(LabelnetError, LookupError):
    """No validator has attested the task's result yet, as far as the node has synced."""


class NoAccountError(LabelnetError, RuntimeError):
    """The node runs without an account (read-only) and cannot do what needs one."""


class DeploymentError(LabelnetError, ValueError):
    """The deployment file is missing or malformed."""


class ChainMismatchError(LabelnetError, ValueError):
    """The RPC endpoint, the deployment and the settings disagree about the chain id."""


class DatabaseBusyError(LabelnetError, RuntimeError):
    """Another writer (another process, a backup, a stuck transaction) holds the database
    lock longer than the busy timeout: nothing of the request was stored; retrying later
    is safe."""


class NodeStoppingError(LabelnetError, RuntimeError):
    """The node is shutting down (or not started) and no longer accepts writes."""
