"""The requester's tools: post tasks, keep and reveal hidden gold, follow and fetch results.

Plain Python over the chain bindings and a content store (no web framework): the CLI, the
SDK and the demo all call these functions, and the requester's node runs
:class:`~node.roles.requester.duty.RequesterDuty` to reveal gold on time.

This package is the requester's public surface: the names in ``__all__`` are what the SDK
(``client.sdk``) may use, and ``.importlinter`` lets it import this package, never its
submodules (``posting``, ``gold``, ``results``, ``duty``, ``task_keys``), so a helper added
to a submodule is not public until it is listed here.
"""

from node.roles.requester.gold import GoldSecretError, GoldSecrets
from node.roles.requester.posting import (
    ContentPublishError,
    CreatedTask,
    PlaintextMediaError,
    TaskRequest,
    TaskRequestError,
    cancel_task,
    create_task,
    minimum_batch,
    publish_content,
    validate_request,
)
from node.roles.requester.results import (
    ResultItem,
    ResultItems,
    ResultNotFinalError,
    ResultUnavailableError,
    TaskProgress,
    TaskResults,
    fetch_results,
    task_progress,
)
from node.roles.requester.task_keys import (
    TaskKeyError,
    TaskKeyVault,
    confidential_content,
    task_key_vault,
)

__all__ = [
    "ContentPublishError",
    "CreatedTask",
    "GoldSecretError",
    "GoldSecrets",
    "PlaintextMediaError",
    "ResultItem",
    "ResultItems",
    "ResultNotFinalError",
    "ResultUnavailableError",
    "TaskKeyError",
    "TaskKeyVault",
    "TaskProgress",
    "TaskRequest",
    "TaskRequestError",
    "TaskResults",
    "cancel_task",
    "confidential_content",
    "create_task",
    "fetch_results",
    "minimum_batch",
    "publish_content",
    "task_key_vault",
    "task_progress",
    "validate_request",
]
