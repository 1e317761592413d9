"""A requester's workflow: import items, post the task, follow it, fetch and export results.

Content goes into the embedded store of the requester node's data directory and gold secrets
into ``<data_dir>/requester/gold``, so ``labelnet node start --role requester --data-dir D``
serves the task's content through its gateway and reveals the gold when the window opens.
Results are fetched through a :class:`~node.store.gateway.GatewayStore` that asks the gateways
nodes announced on chain (plus any given peers) and verifies every block.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from client.sdk.confidential import (
    Confidential,
    ConfidentialSpecError,
    check_confidential,
    seal,
)
from client.sdk.errors import SdkError
from client.sdk.network import Network
from node.chain.market import TaskStatus, read_task
from node.chain.qualifications import Gate
from node.chain.registry import discover_gateways
from node.content.exports import ExportFormat, export_results
from node.content.imports import ImportedItems, ImportFormat, import_items
from node.content.labelstudio import LabelStudioError, LabelStudioProfile, parse_label_config
from node.peer_url import OnceLog, Peer, PeerUrlError, parse_peer
from node.protocol.annotation import RULES, AnnotationParams, canonical_value
from node.protocol.canonical import DocumentTooDeepError, JsonValue, load_json
from node.protocol.gold import GoldSet
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ManifestError, TaskContent, build_task_content
from node.protocol.manifest_allowlist import AllowlistFieldError, AllowlistParams
from node.roles.requester import (
    CreatedTask,
    GoldSecrets,
    PlaintextMediaError,
    TaskProgress,
    TaskRequest,
    TaskResults,
    cancel_task,
    create_task,
    fetch_results,
    publish_content,
    task_progress,
)
from node.store.embedded import EmbeddedStore
from node.store.gateway import GatewayStore

log = logging.getLogger(__name__)

MAX_GOLD_FILE = 64 * 1024 * 1024
CLASSLESS = (TaskKind.NUMERIC, TaskKind.TEXT, TaskKind.PAIRWISE)
"""Kinds whose tasks name no classes."""


class TaskSpecError(SdkError, ValueError):
    """A task description that cannot be posted (no classes, a bad gold file...)."""


@dataclass(frozen=True)
class TaskSummary:
    """A task as its ``TaskCreated`` event and current state describe it."""

    task_id: int
    requester: str
    manifest_cid: str
    num_items: int
    redundancy: int
    reward_pool: int
    status: str
    block_number: int


@dataclass(frozen=True)
class Timing:
    """Window lengths in seconds, counted from the chain's clock when the task is posted."""

    commit_in: int
    reveal_in: int
    attest_in: int
    seats_in: int = 0
    """Seated tasks: the seat window (the seat deadline is ``now + seats_in``); the commit
    window must leave the market's ``minLabelTime`` after it."""


def read_gold_file(path: Path) -> dict[str, JsonValue]:
    """Gold answers from a JSON object ``{item: value}`` or JSONL lines ``{"item", "value"}``.

    Parsed with :func:`~node.protocol.canonical.load_json`: web3, which the CLI has loaded
    by then, lifts Python's recursion limit, so a file nested a few hundred thousand deep
    killed ``labelnet task create`` with SIGSEGV instead of an error line.
    """
    try:
        if path.stat().st_size > MAX_GOLD_FILE:
            raise TaskSpecError(f"{path} exceeds {MAX_GOLD_FILE} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskSpecError(f"cannot read gold file {path}: {exc}") from exc
    try:
        document = load_json(text.encode())
    except DocumentTooDeepError as exc:
        raise TaskSpecError(f"{path}: {exc}") from exc
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        return {str(item): value for item, value in document.items()}
    gold: dict[str, JsonValue] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = load_json(line.encode())
            gold[str(entry["item"])] = entry["value"]
        except DocumentTooDeepError as exc:
            raise TaskSpecError(f"{path}:{number}: {exc}") from exc
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TaskSpecError(
                f'{path}:{number}: expected {{"item": ..., "value": ...}} ({exc})'
            ) from exc
    return gold


def shape_gold(gold: Mapping[str, JsonValue], kind: TaskKind) -> dict[str, JsonValue]:
    """Imported gold in the shape of ``kind``'s labels: a file cannot tell a multi-label
    answer of one class (``"a"``) from a categorical one, so it is wrapped (``["a"]``) for
    multi-label tasks. Whether the values are then valid is checked once, when the task is
    posted (:func:`node.roles.requester.validate_request`). Boxes, spans and texts are put
    in their canonical spelling (sorted, NFC), as a labeling program's are."""
    if kind in RULES:
        return {item: canonical_value(kind, value) for item, value in gold.items()}
    if kind is not TaskKind.MULTILABEL:
        return dict(gold)
    return {item: [value] if isinstance(value, str) else value for item, value in gold.items()}


def progress_of(network: Network, task_id: int) -> TaskProgress:
    """Where a task stands on chain (no content store needed)."""
    return task_progress(network.contracts.market, task_id, network.now())


def list_tasks(network: Network, *, mine: bool = False) -> list[TaskSummary]:
    """Every task created on the deployment (``mine``: by the account), oldest first."""
    market = network.contracts.market
    filters = {"requester": network.address} if mine else None
    logs = market.events.TaskCreated().get_logs(
        from_block=network.deployment.start_block, argument_filters=filters
    )
    summaries = []
    for log in logs:
        args = log["args"]
        params = args["params"]
        task_id = int(args["taskId"])
        status: TaskStatus = read_task(market, task_id).status
        summaries.append(
            TaskSummary(
                task_id=task_id,
                requester=str(args["requester"]),
                manifest_cid=str(params["manifestCid"]),
                num_items=int(params["numItems"]),
                redundancy=int(params["redundancy"]),
                reward_pool=int(args["rewardPool"]),
                status=status.name.lower(),
                block_number=int(log["blockNumber"]),
            )
        )
    return summaries


class RequesterClient:
    """Requester operations for the network's account, with content kept in ``data_dir``."""

    def __init__(
        self,
        network: Network,
        data_dir: Path,
        *,
        peers: Sequence[str] = (),
        allow_private_peers: bool = False,
    ) -> None:
        """``peers`` are fetched from whatever their address; announced gateways only if
        public, unless ``allow_private_peers`` (a devnet, where every node is on loopback)."""
        self.network = network
        self.data_dir = data_dir
        self.local = EmbeddedStore.in_data_dir(data_dir)
        self.secrets = GoldSecrets(data_dir / "requester" / "gold")
        self._peers = tuple(peers)
        self._allow_private = allow_private_peers
        self._refused = OnceLog(log)
        self.store = GatewayStore(self.local, self._gateways)

    def _gateways(self) -> list[str | Peer]:
        registry = self.network.contracts.registry
        announced = discover_gateways(registry, self.network.deployment.start_block)
        gateways: list[str | Peer] = list(self._peers)
        for url in announced.values():
            try:
                gateways.append(parse_peer(url, private_ok=self._allow_private))
            except PeerUrlError as exc:
                self._refused.warning(url, "not fetching from announced gateway: %s", exc)
        return gateways

    def close(self) -> None:
        self.store.close()

    def prepare(
        self,
        imported: ImportedItems,
        *,
        title: str,
        instructions: str = "",
        classes: Sequence[str] = (),
        kind: TaskKind = TaskKind.CATEGORICAL,
        annotation: AnnotationParams | None = None,
        allowlist: Sequence[str] = (),
        confidential: Confidential | None = None,
    ) -> TaskContent:
        """Build the manifest and pages; classes default to those the file named (text,
        pairwise and numeric tasks have none). A boxes, spans, text or pairwise task states
        ``annotation`` (its kind's defaults when None) in its manifest; a gated task with an
        allowlist lists its accounts (``allowlist``) there, for the nodes' proofs.
        ``confidential``: the pages are sealed under a new task key kept in this data
        directory's vault (:mod:`client.sdk.confidential`)."""
        if kind in CLASSLESS:
            chosen: tuple[str, ...] = ()
        else:
            chosen = tuple(classes) or imported.classes
            if not chosen:
                raise TaskSpecError("the task needs its classes (the items file names none)")
        if confidential is not None:
            return seal(
                imported,
                confidential,
                self.data_dir,
                title=title,
                instructions=instructions,
                classes=chosen,
                allowlist=allowlist,
            )
        try:
            return build_task_content(
                imported.items,
                title=title,
                instructions=instructions,
                kind=kind,
                classes=chosen,
                annotation=annotation,
                allowlist=AllowlistParams.create(allowlist) if allowlist else None,
            )
        except (ManifestError, AllowlistFieldError) as exc:
            raise TaskSpecError(str(exc)) from exc

    def post(
        self,
        content: TaskContent,
        *,
        reward_per_label: int,
        redundancy: int,
        validator_fee: int,
        timing: Timing,
        media: Sequence[bytes] = (),
        gold: Mapping[str, JsonValue] | None = None,
        annotator_bond: int = 0,
        permit: bool = True,
        batch_size: int = 0,
        gate: Gate | None = None,
    ) -> CreatedTask:
        """Publish the content to the local store, then create the task on chain.

        ``batch_size`` > 0 posts a seated task (market v2): ``N·k / batch_size`` seats, claimed
        until ``timing.seats_in`` from now, each dealt ``batch_size`` items; every accepted
        label is paid exactly ``reward_per_label``. A batch below
        :func:`node.roles.requester.minimum_batch` is refused. ``gate`` (a seated task only)
        posts it through the market's gate: only the accounts its rules admit get a seat,
        and its claims credit their reputation in ``gate.domain`` (docs/qualification.md).
        Content sealed by :meth:`prepare` (``confidential``) is refused with gold or unseated
        (:func:`client.sdk.confidential.check_confidential`), or with plaintext ``media``
        (its media are sealed in the content: :func:`publish_content`'s rule, raised here as
        :class:`ConfidentialSpecError`)."""
        if content.manifest.confidential is not None:
            check_confidential(gold=gold, batch_size=batch_size)
        try:
            publish_content(self.local, content, media)
        except PlaintextMediaError as exc:
            raise ConfidentialSpecError(str(exc)) from exc
        now = self.network.now()
        commit = now + timing.commit_in
        reveal = commit + timing.reveal_in
        request = TaskRequest(
            content=content,
            reward_per_label=reward_per_label,
            redundancy=redundancy,
            validator_fee=validator_fee,
            commit_deadline=commit,
            reveal_deadline=reveal,
            attest_deadline=reveal + timing.attest_in,
            annotator_bond=annotator_bond,
            algorithm=content.manifest.algorithm,  # multilabel and numeric have their own
            gold=GoldSet.create(gold) if gold else None,
            batch_size=batch_size,
            seat_deadline=now + timing.seats_in if batch_size else 0,
            gate=gate,
        )
        return create_task(
            self.network.sender(), self.network.contracts, request, self.secrets, permit=permit
        )

    def create_from_file(
        self,
        items_file: Path,
        *,
        title: str,
        reward_per_label: int,
        redundancy: int,
        validator_fee: int,
        timing: Timing,
        classes: Sequence[str] = (),
        instructions: str = "",
        format: ImportFormat = "auto",
        gold_field: str | None = None,
        gold_file: Path | None = None,
        kind: TaskKind = TaskKind.CATEGORICAL,
        label_config: str | None = None,
        batch_size: int = 0,
        annotation: AnnotationParams | None = None,
        gate: Gate | None = None,
        confidential: Confidential | None = None,
    ) -> CreatedTask:
        """Import ``items_file`` and post it; gold from ``gold_field`` and/or ``gold_file``.
        ``confidential``: post it sealed (docs/confidential.md), checked before anything is
        sealed, saved or sent.

        ``label_config``: the Label Studio project's label config, for a Label Studio file
        (see :func:`node.content.imports.import_items`). The Label Studio names the import
        found are kept in the data directory (:meth:`labelstudio_profile`) for exports.
        """
        imported = import_items(
            items_file, format=format, gold_field=gold_field, label_config=label_config
        )
        gold = shape_gold(imported.gold, kind)
        if gold_file is not None:
            gold.update(read_gold_file(gold_file))
        if confidential is not None:
            check_confidential(gold=gold, batch_size=batch_size, kind=kind)
        content = self.prepare(
            imported,
            title=title,
            instructions=instructions,
            classes=classes,
            kind=kind,
            annotation=annotation,
            allowlist=gate.allowlist if gate is not None else (),
            confidential=confidential,
        )
        if imported.labelstudio is not None:
            self._save_profile(content.manifest_cid, imported.labelstudio)
        created = self.post(
            content,
            reward_per_label=reward_per_label,
            redundancy=redundancy,
            validator_fee=validator_fee,
            timing=timing,
            media=imported.media if confidential is None else (),  # sealed in the content
            gold=gold,
            batch_size=batch_size,
            gate=gate,
        )
        return dataclasses.replace(created, gold_conflicts=imported.gold_conflicts)

    def _profile_path(self, manifest_cid: str) -> Path:
        return self.data_dir / "requester" / "labelstudio" / f"{manifest_cid}.json"

    def _save_profile(self, manifest_cid: str, profile: LabelStudioProfile) -> None:
        """Kept beside the gold secrets, not in the manifest: annotators need none of it,
        and the manifest's bytes (its CID) stay what they were before interop existed."""
        path = self._profile_path(manifest_cid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(profile.document(), indent=1), encoding="utf-8")

    def labelstudio_profile(self, manifest_cid: str) -> LabelStudioProfile | None:
        """The Label Studio names a task posted from this data directory was imported with."""
        path = self._profile_path(manifest_cid)
        if not path.is_file():
            return None
        try:
            return LabelStudioProfile.from_document(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # JSON and profile errors are ValueErrors
            raise TaskSpecError(f"unreadable Label Studio profile {path}: {exc}") from exc

    def cancel(self, task_id: int) -> str:
        return cancel_task(self.network.sender(), self.network.contracts.market, task_id)

    def progress(self, task_id: int) -> TaskProgress:
        return progress_of(self.network, task_id)

    def tasks(self, *, mine: bool = False) -> list[TaskSummary]:
        return list_tasks(self.network, mine=mine)

    def results(self, task_id: int) -> TaskResults:
        """The verified consensus result of a finalized task. Its items (and the revealed
        labels) are read through this client's store as they are used, a page at a time:
        use them before :meth:`close`."""
        network = self.network
        return fetch_results(
            network.w3, network.contracts, self.store, task_id, network.deployment.start_block
        )

    def export(
        self, task_id: int, path: Path, format: ExportFormat, *, label_config: str | None = None
    ) -> Path:
        """Export the result; a Label Studio export uses ``label_config``'s names if given,
        else those the task was imported with here, else labelnet's own."""
        results = self.results(task_id)
        if label_config is not None:
            try:
                profile: LabelStudioProfile | None = parse_label_config(label_config).profile
            except LabelStudioError as exc:
                raise TaskSpecError(str(exc)) from exc
        else:
            profile = self.labelstudio_profile(results.manifest_cid)
        return export_results(results, path, format, labelstudio=profile)
