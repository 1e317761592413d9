"""The hand-written ABI encoding of a label leaf equals eth_abi's, for any item and value."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from node.protocol.canonical import canonical_json
from node.protocol.labels import label_leaf

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@given(item=st.text(max_size=300), value=values)
def test_label_leaf_matches_the_abi_encoding(item: str, value: object) -> None:
    value_hash = keccak(canonical_json(value))
    expected = keccak(keccak(abi_encode(["string", "bytes32"], [item, value_hash])))
    assert label_leaf(item, value) == expected


def test_label_leaf_of_a_32_byte_item_needs_no_padding() -> None:
    item = "x" * 32
    expected = keccak(keccak(abi_encode(["string", "bytes32"], [item, keccak(b'"a"')])))
    assert label_leaf(item, "a") == expected
