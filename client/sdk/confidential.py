"""Posting a confidential task from the SDK (docs/confidential.md): what the requester names,
and the checks that refuse what a sealed task cannot carry, before anything is sealed or sent.

The content is sealed by the requester's own tool,
:func:`node.roles.requester.confidential_content`, which saves the task key in the vault of
the requester node's data directory (:func:`node.roles.requester.task_key_vault`): that node's
``KeyPublisher`` duty finds it there and wraps it to the named validators and to every
annotator that claims a seat. So the node must run with the same data directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from client.sdk.errors import SdkError
from node.content.imports import ImportedItems
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ManifestError, TaskContent
from node.protocol.manifest_allowlist import AllowlistFieldError, AllowlistParams
from node.protocol.manifest_confidential import ConfidentialError
from node.roles.requester import TaskKeyError, confidential_content, task_key_vault


class ConfidentialSpecError(SdkError, ValueError):
    """A confidential task that cannot be posted as asked (gold, media, an open task...)."""


@dataclass(frozen=True)
class Confidential:
    """A confidential task's readers: the validators named in its manifest (only they can
    read the items and labels, so only they can attest). The task key goes to the vault of
    the client's ``data_dir``, the requester node's data directory: the same directory
    already holds the content this node serves and the gold it reveals, so there is no
    second directory to name (and none to get wrong)."""

    validators: tuple[str, ...]

    def checksummed(self) -> list[str]:
        """The validators as the manifest spells them; a non-address is refused by name."""
        named: list[str] = []
        for address in self.validators:
            if not Web3.is_address(address):
                raise ConfidentialSpecError(f"validator {address!r} is not an address")
            named.append(Web3.to_checksum_address(address))
        if not named:
            raise ConfidentialSpecError("a confidential task names at least one validator")
        return named


def check_confidential(
    *,
    gold: Mapping[str, JsonValue] | None,
    batch_size: int,
    kind: TaskKind = TaskKind.CATEGORICAL,
) -> None:
    """Refuse what a sealed task cannot carry (docs/confidential.md §8), with the reason."""
    if gold:
        raise ConfidentialSpecError(
            "a confidential task takes no gold: gold answers are revealed in public after the "
            "commit deadline, with their item ids (a sealed gold set is not built)"
        )
    if not batch_size:
        raise ConfidentialSpecError(
            "a confidential task must be seated (batch_size > 0): its key is wrapped to an "
            "annotator when it claims a seat, so an open task has no annotator who can read it"
        )
    if kind is not TaskKind.CATEGORICAL:
        raise ConfidentialSpecError(
            f"a confidential task is categorical for now, not {kind.value} (only the "
            "categorical path is tested sealed end to end)"
        )


def seal(
    imported: ImportedItems,
    confidential: Confidential,
    data_dir: Path,
    *,
    title: str,
    instructions: str,
    classes: Sequence[str],
    allowlist: Sequence[str] = (),
) -> TaskContent:
    """The task's sealed content; its key is saved in the requester node's vault. The
    imported media are sealed too (the result's ``media``, stored by ``post``): post the
    result with no plaintext ``media`` beside it."""
    vault = task_key_vault(data_dir)
    try:
        listed = AllowlistParams.create(allowlist) if allowlist else None
        return confidential_content(
            imported.items,
            confidential.checksummed(),
            vault,
            title=title,
            instructions=instructions,
            classes=classes,
            allowlist=listed,
            media=imported.media,
        )
    except (TaskKeyError, ConfidentialError, ManifestError, AllowlistFieldError) as exc:
        raise ConfidentialSpecError(str(exc)) from exc
