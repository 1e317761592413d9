"""The anvil engine of :class:`~node.chain.devchain.DevChain` (Foundry's local chain).

The binary comes from the npm install (``@foundry-rs/anvil``); ``LABELNET_ANVIL`` overrides
it. The npm ``anvil`` is a Node wrapper that runs the native binary as its child; both run
in the chain's own session, so stopping the session stops both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from node.chain.devchain import DEFAULT_MNEMONIC, DevChain, find_tool, free_port

__all__ = ["DEFAULT_MNEMONIC", "Anvil", "find_anvil", "free_port"]


def find_anvil() -> str:
    """Locate the anvil binary: $LABELNET_ANVIL, the repository's npm install, then PATH."""
    return find_tool("anvil", "LABELNET_ANVIL")


@dataclass
class Anvil(DevChain):
    """A managed anvil process."""

    engine: ClassVar[str] = "anvil"
    client_prefix: ClassVar[str] = "anvil/"
    set_balance_method: ClassVar[str] = "anvil_setBalance"

    state_path: Path | None = None
    """anvil's ``--state``: load the chain from, and dump it to, this file."""

    def command(self, workdir: Path) -> list[str]:
        args = [
            find_anvil(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_ether),
            "--mnemonic", self.mnemonic,
        ]  # fmt: skip
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        if self.gas_limit is not None:
            args += ["--gas-limit", str(self.gas_limit)]
        if self.state_path is not None:
            args += ["--state", str(self.state_path)]
        return args + self.extra_args
