"""An annotator's view of its node (HTTP API) and its claims on chain.

The node does the protocol work (fetching, committing, revealing); this client drives the
human or program side over ``/api/v1`` and claims payouts with the Merkle proofs the node
recorded from the winning result document. Responses are parsed into the node's own public
models, so a field the node renames fails here loudly instead of drifting silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from hexbytes import HexBytes
from pydantic import TypeAdapter, ValidationError

from client.sdk.errors import SdkError
from client.sdk.network import Network
from node.app.views import Earnings, Progress, TaskDetail, TaskOutcome
from node.db.models import ItemPublic, PayoutPublic, TaskPublic
from node.protocol.merkle import MerkleTreeError
from node.roles.winning import winning_result
from node.store.base import ContentStore

API = "/api/v1"
_TASKS = TypeAdapter(list[TaskPublic])
_ITEMS = TypeAdapter(list[ItemPublic])


class NodeApiError(SdkError, RuntimeError):
    """The node cannot be reached, or answered with an error (``status`` 0 if unreachable)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class NothingToClaimError(SdkError, LookupError):
    """No claimable payout (with a proof the node knows) for the tasks asked."""


@dataclass(frozen=True)
class ClaimReceipt:
    """One claim transaction paying ``amount`` over ``task_ids`` to ``account``."""

    tx_hash: str
    account: str
    task_ids: tuple[int, ...]
    amount: int


class AnnotatorClient:
    """The node API at ``base_url``; ``token`` (the node's ``api-token``) for writes and
    for reads of the node's own work (next items, progress)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AnnotatorClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: object = None,
    ) -> Any:
        try:
            response = self._http.request(method, API + path, params=params, json=body)
        except httpx.HTTPError as exc:
            raise NodeApiError(f"cannot reach the node at {self.base_url}: {exc}") from exc
        if response.is_success:
            return response.json()
        try:
            detail = str(response.json().get("detail", response.text))
        except ValueError:
            detail = response.text
        raise NodeApiError(
            f"the node answered {response.status_code} to {method} {path}: {detail}",
            response.status_code,
        )

    def _parse(self, adapter: TypeAdapter[Any], payload: object) -> Any:
        try:
            return adapter.validate_python(payload)
        except ValidationError as exc:
            raise NodeApiError(
                f"unexpected answer from the node at {self.base_url}: {exc}"
            ) from exc

    def tasks(
        self, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[TaskPublic]:
        params: dict[str, str | int] = {"after": after, "limit": limit}
        if status is not None:
            params["status"] = status
        parsed: list[TaskPublic] = self._parse(
            _TASKS, self._request("GET", "/tasks", params=params)
        )
        return parsed

    def task(self, task_id: int) -> TaskDetail:
        detail: TaskDetail = self._parse(
            TypeAdapter(TaskDetail), self._request("GET", f"/tasks/{task_id}")
        )
        return detail

    def next_items(self, task_id: int, limit: int = 20) -> list[ItemPublic]:
        payload = self._request("GET", f"/tasks/{task_id}/items/next", params={"limit": limit})
        items: list[ItemPublic] = self._parse(_ITEMS, payload)
        return items

    def submit_labels(self, task_id: int, labels: Mapping[str, object]) -> int:
        """Store ``{item id: value}`` for the node's account; returns how many were accepted."""
        body = [{"item": item, "value": value} for item, value in labels.items()]
        answer = self._request("POST", f"/tasks/{task_id}/labels", body=body)
        return int(answer["accepted"])

    def progress(self, task_id: int) -> Progress:
        progress: Progress = self._parse(
            TypeAdapter(Progress), self._request("GET", f"/tasks/{task_id}/progress")
        )
        return progress

    def earnings(self, account: str | None = None) -> Earnings:
        params = {} if account is None else {"account": account}
        earnings: Earnings = self._parse(
            TypeAdapter(Earnings), self._request("GET", "/earnings", params=params)
        )
        return earnings

    def results(self, task_id: int) -> TaskOutcome:
        results: TaskOutcome = self._parse(
            TypeAdapter(TaskOutcome), self._request("GET", f"/tasks/{task_id}/results")
        )
        return results

    def claimable(
        self, network: Network, task_ids: Sequence[int] | None = None
    ) -> list[PayoutPublic]:
        """Unclaimed payouts of the network's account with a proof, checked against the chain
        (the node's mirror may not have seen a claim made a block ago)."""
        account = network.address
        wanted = None if task_ids is None else set(task_ids)
        market = network.contracts.market
        ready = [
            p
            for p in self.earnings(account).payouts
            if not p.claimed
            and p.proof is not None
            and int(p.amount) > 0
            and (wanted is None or p.task_id in wanted)
            and int(market.functions.paidOf(p.task_id, account).call()) == 0
        ]
        if wanted is not None:
            missing = sorted(wanted - {p.task_id for p in ready})
            if missing:
                raise NothingToClaimError(
                    f"nothing to claim for {account} on task(s) {', '.join(map(str, missing))} "
                    "(not final yet, not synced by the node, already claimed, or no payout)"
                )
        return sorted(ready, key=lambda p: p.task_id)

    def claim(self, network: Network, task_ids: Sequence[int] | None = None) -> ClaimReceipt:
        """Claim the account's payouts of ``task_ids`` (default: every claimable one) in one
        transaction (``claimMany``), with the proofs the node recorded."""
        payouts = self.claimable(network, task_ids)
        if not payouts:
            raise NothingToClaimError(f"nothing to claim for {network.address} yet")
        return send_claim(
            network,
            [
                (p.task_id, int(p.amount), [HexBytes(node) for node in p.proof or []])
                for p in payouts
            ],
        )


def send_claim(network: Network, leaves: Sequence[tuple[int, int, list[HexBytes]]]) -> ClaimReceipt:
    """One ``claimMany`` transaction over ``(task id, amount, proof)`` leaves of the account."""
    account = network.address
    receipt = network.sender().transact(
        network.contracts.market.functions.claimMany(
            [task for task, _, _ in leaves],
            account,
            [amount for _, amount, _ in leaves],
            [proof for _, _, proof in leaves],
        )
    )
    return ClaimReceipt(
        tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
        account=account,
        task_ids=tuple(task for task, _, _ in leaves),
        amount=sum(amount for _, amount, _ in leaves),
    )


def claim_from_results(
    network: Network, store: ContentStore, task_ids: Sequence[int]
) -> ClaimReceipt:
    """Claim without a node: rebuild each task's payout tree from its verified result
    document (fetched through ``store``, checked against the on-chain root) and claim."""
    if not task_ids:
        raise NothingToClaimError("name the tasks to claim (a node is needed to find them all)")
    account = network.address
    market = network.contracts.market
    leaves: list[tuple[int, int, list[HexBytes]]] = []
    for task_id in task_ids:
        _, result = winning_result(market, store, task_id, network.deployment.start_block)
        tree = result.payouts.tree
        if tree is None:
            raise NothingToClaimError(f"task {task_id} pays nothing to {account}")
        try:
            amount = tree.amount(account)
        except MerkleTreeError as exc:
            raise NothingToClaimError(f"task {task_id} pays nothing to {account}") from exc
        if int(market.functions.paidOf(task_id, account).call()) > 0:
            raise NothingToClaimError(f"{account} already claimed task {task_id}")
        leaves.append((task_id, amount, [HexBytes(node) for node in tree.proof(account)]))
    return send_claim(network, leaves)
