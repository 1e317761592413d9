"""EIP-2612 permits for LabelToken, so a requester posts a task in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.contract import Contract


@dataclass(frozen=True)
class PermitSignature:
    deadline: int
    v: int
    r: bytes
    s: bytes


def sign_permit(
    owner: LocalAccount, token: Contract, spender: str, value: int, deadline: int
) -> PermitSignature:
    """Sign ``Permit(owner, spender, value, nonce, deadline)`` for ``token``'s EIP-712 domain."""
    name: str = token.functions.name().call()
    nonce: int = token.functions.nonces(owner.address).call()
    chain_id = token.w3.eth.chain_id
    domain = {"name": name, "version": "1", "chainId": chain_id, "verifyingContract": token.address}
    types = {
        "Permit": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]
    }
    message = {
        "owner": owner.address,
        "spender": spender,
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    signed = owner.sign_typed_data(domain_data=domain, message_types=types, message_data=message)
    return PermitSignature(
        deadline=deadline,
        v=signed.v,
        r=signed.r.to_bytes(32, "big"),
        s=signed.s.to_bytes(32, "big"),
    )
