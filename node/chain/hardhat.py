"""The Hardhat engine of :class:`~node.chain.devchain.DevChain` (``hardhat node``, Hardhat 2).

Hardhat is pinned in package.json and installed by scripts/setup.sh; ``LABELNET_HARDHAT``
overrides the binary. Hardhat takes the chain's settings only from a config file, so each
start writes a ``hardhat.config.js`` holding nothing but the network into its work directory.
Hardhat refuses to run outside a project that installs it locally (its HH12 error), so the
process runs in the directory whose ``node_modules`` holds it, with ``--config`` pointing at
the written file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from node.chain.devchain import REPO_ROOT, DevChain, find_tool

CONFIG_FILE = "hardhat.config.js"
ETHER = 10**18


def find_hardhat() -> str:
    """Locate the hardhat CLI: $LABELNET_HARDHAT, the repository's npm install, then PATH."""
    return find_tool("hardhat", "LABELNET_HARDHAT")


@dataclass
class Hardhat(DevChain):
    """A managed Hardhat node."""

    engine: ClassVar[str] = "hardhat"
    client_prefix: ClassVar[str] = "HardhatNetwork/"
    set_balance_method: ClassVar[str] = "hardhat_setBalance"

    def network_config(self) -> dict[str, object]:
        """The ``networks.hardhat`` section: the same chain anvil's flags would make."""
        network: dict[str, object] = {
            "chainId": self.chain_id,
            "accounts": {
                "mnemonic": self.mnemonic,
                "count": self.accounts,
                "accountsBalance": str(self.balance_ether * ETHER),
            },
        }
        if self.block_time is not None:
            network["mining"] = {"auto": False, "interval": max(1, round(self.block_time * 1000))}
        if self.gas_limit is not None:
            network["blockGasLimit"] = self.gas_limit
        return network

    def command(self, workdir: Path) -> list[str]:
        config = workdir / CONFIG_FILE
        document = json.dumps({"networks": {"hardhat": self.network_config()}}, indent=2)
        config.write_text(
            f"// Written by labelnet for one hardhat node.\nmodule.exports = {document};\n"
        )
        return [
            find_hardhat(),
            "--config", str(config.resolve()),
            "node",
            "--hostname", "127.0.0.1",
            "--port", str(self.port),
            *self.extra_args,
        ]  # fmt: skip

    def cwd(self) -> Path:
        binary = Path(find_hardhat()).absolute()
        if binary.parent.name == ".bin" and binary.parent.parent.name == "node_modules":
            return binary.parent.parent.parent
        return REPO_ROOT

    def env(self) -> dict[str, str]:
        # No consent prompt for telemetry: nobody is at the terminal of a child process.
        return {**super().env(), "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
