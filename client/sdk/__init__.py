"""A typed Python client for labelnet's three roles; the ``labelnet`` CLI is a thin layer over it.

* :class:`Network` — a chain connection (web3, the bound contracts, a transaction sender for
  one account), from a devnet directory or from explicit files.
* :class:`ValidatorClient` — stake, request an unstake, withdraw, read the stake's status.
* :class:`AnnotatorClient` — a node's HTTP API (tasks, next items, labels, progress,
  earnings) and on-chain claims with the Merkle proofs the node recorded.
* :class:`RequesterClient` — import items, publish and create tasks, follow and fetch their
  results, export them; ``confidential=`` (:class:`Confidential`) posts a sealed task.
"""

from client.sdk.annotator import (
    AnnotatorClient,
    ClaimReceipt,
    NodeApiError,
    NothingToClaimError,
    claim_from_results,
)
from client.sdk.confidential import Confidential, ConfidentialSpecError
from client.sdk.errors import SdkError
from client.sdk.network import Network, NetworkError, NoAccountError
from client.sdk.requester import RequesterClient, TaskSpecError, TaskSummary, Timing
from client.sdk.validator import StakeStatus, ValidatorClient

__all__ = [
    "AnnotatorClient",
    "ClaimReceipt",
    "Confidential",
    "ConfidentialSpecError",
    "Network",
    "NetworkError",
    "NoAccountError",
    "NodeApiError",
    "NothingToClaimError",
    "RequesterClient",
    "SdkError",
    "StakeStatus",
    "TaskSpecError",
    "TaskSummary",
    "Timing",
    "ValidatorClient",
    "claim_from_results",
]
