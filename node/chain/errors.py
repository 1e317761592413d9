"""Typed Python exceptions for the contracts' custom-error reverts.

A revert such as ``TaskMarketDeadlinePassed(7, 1700000000)`` reaches web3.py as opaque
bytes. :func:`decode_revert` turns them into a :class:`ContractRevertError` carrying the error's
name and decoded arguments, so callers can branch on ``exc.name`` and show a clear message.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError

from node.chain.artifacts import ARTIFACT_NAMES, load_artifact
from node.errors import LabelnetError


class ChainError(LabelnetError, RuntimeError):
    """A chain operation failed (RPC down, timeout, dropped transaction)."""


class ContractRevertError(ChainError):
    """A contract call reverted; ``name`` and ``args`` describe the custom error, if known."""

    def __init__(self, name: str, args: Sequence[Any], data: bytes) -> None:
        self.name = name
        self.args_ = tuple(args)
        self.data = data
        rendered = ", ".join(_render(a) for a in self.args_)
        super().__init__(f"{name}({rendered})")


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _type_string(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@cache
def _error_table() -> dict[bytes, tuple[str, tuple[str, ...]]]:
    table: dict[bytes, tuple[str, tuple[str, ...]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ("string",)),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ("uint256",)),
    }
    for contract in ARTIFACT_NAMES:
        for entry in load_artifact(contract).abi:
            if entry["type"] != "error":
                continue
            types = tuple(_type_string(p) for p in entry["inputs"])
            signature = f"{entry['name']}({','.join(types)})"
            table[keccak(text=signature)[:4]] = (entry["name"], types)
    return table


def decode_revert(data: bytes) -> ContractRevertError:
    """Decode revert bytes into a ContractRevertError (``UnknownError`` if the selector is new)."""
    entry = _error_table().get(data[:4])
    if entry is None:
        return ContractRevertError("UnknownError", ["0x" + data.hex()], data)
    name, types = entry
    try:
        args = abi_decode(list(types), data[4:])
    except Exception as exc:
        raise ChainError(f"malformed {name} revert data: 0x{data.hex()}") from exc
    return ContractRevertError(name, args, data)


def revert_data(exc: ContractLogicError) -> bytes | None:
    """The revert bytes of a failed call or gas estimate, or None if the node sent none.

    anvil puts the hex string in the error's ``data``; Hardhat nests it one level deeper
    (``{"message": ..., "data": "0x..."}``). Both are read here, and only here.
    """
    data: object = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def revert_from(exc: ContractLogicError) -> ContractRevertError:
    """A failed call as the contract's named custom error (``Reverted`` if it has no data)."""
    data = revert_data(exc)
    if data is None:
        return ContractRevertError("Reverted", [str(exc)], b"")
    return decode_revert(data)
