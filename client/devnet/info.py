"""The devnet directory: its file names, errors, and ``devnet.json`` as :class:`DevnetInfo`.

Everything here reads or writes files only; nothing starts a process or touches a chain, so
clients (the SDK, the CLI) can load a devnet without pulling in chain engines or deployment code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from node.errors import LabelnetError
from node.files import write_atomic
from node.keys import load_keystore

DEVNET_FILE = "devnet.json"
DEPLOYMENT_FILE = "deployment.json"
PASSWORD_FILE = "password"
LEGACY_ENGINE = "anvil"
"""The engine of a ``devnet.json`` that names none: labelnet ran only anvil then."""


def pid_file_name(engine: str) -> str:
    """The file holding the pid of the devnet's detached chain (``anvil.pid``...).

    Named after the engine so the file alone says what to look for when stopping it, even
    before ``devnet.json`` is written (a devnet that failed while being provisioned).
    """
    return f"{engine}.pid"


def log_file_name(engine: str) -> str:
    """The file the devnet's detached chain writes its output to (``anvil.log``...)."""
    return f"{engine}.log"


class DevnetError(LabelnetError, RuntimeError):
    """The devnet cannot be started, found or stopped."""


class DevnetNotFoundError(DevnetError, LookupError):
    """No devnet in the directory."""


@dataclass(frozen=True)
class DevnetAccount:
    """A named devnet account and its keystore (password: the devnet's password file)."""

    name: str
    address: str
    keystore: Path


@dataclass(frozen=True)
class DevnetInfo:
    """What ``devnet.json`` records about a running devnet."""

    rpc_url: str
    chain_id: int
    deployment_file: Path
    password_file: Path
    accounts: tuple[DevnetAccount, ...]
    chain_pid: int | None
    """The detached chain's process (group) id; None when this process owns the chain."""
    engine: str = LEGACY_ENGINE
    """The chain engine that runs the devnet: ``anvil`` or ``hardhat``."""

    def account(self, name: str) -> DevnetAccount:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise DevnetNotFoundError(f"the devnet has no account {name!r} (it has: {known})")

    def password(self) -> str:
        return self.password_file.read_text().rstrip("\n")

    def signer(self, name: str) -> LocalAccount:
        """Decrypt the named account's key."""
        return load_keystore(self.account(name).keystore, self.password())

    def to_json(self) -> dict[str, Any]:
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "deployment_file": str(self.deployment_file),
            "password_file": str(self.password_file),
            "accounts": [
                {"name": a.name, "address": a.address, "keystore": str(a.keystore)}
                for a in self.accounts
            ],
            "chain_pid": self.chain_pid,
            "engine": self.engine,
        }

    @classmethod
    def load(cls, directory: Path) -> DevnetInfo:
        path = directory / DEVNET_FILE
        try:
            document = json.loads(path.read_text())
            return cls(
                rpc_url=str(document["rpc_url"]),
                chain_id=int(document["chain_id"]),
                deployment_file=Path(document["deployment_file"]),
                password_file=Path(document["password_file"]),
                accounts=tuple(
                    DevnetAccount(str(a["name"]), str(a["address"]), Path(a["keystore"]))
                    for a in document["accounts"]
                ),
                chain_pid=_optional_int(document.get("chain_pid", document.get("anvil_pid"))),
                engine=str(document.get("engine", LEGACY_ENGINE)),
            )
        except FileNotFoundError as exc:
            raise DevnetNotFoundError(f"no devnet in {directory} (no {DEVNET_FILE})") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DevnetError(f"{path} is unreadable or malformed: {exc}") from exc


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """:func:`node.files.write_atomic` of ``text`` (UTF-8), world-readable unless told."""
    write_atomic(path, text.encode("utf-8"), mode=mode)
