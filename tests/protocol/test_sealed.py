"""``sealed@1`` blobs and ``sealed-keys@1`` documents: round trips, tampering, recipients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from nacl.public import PrivateKey

from node.keys import KeystoreError, create_encryption_key, load_encryption_key
from node.protocol.canonical import canonical_json
from node.protocol.cid import compute_cid
from node.protocol.sealed import (
    MAGIC,
    NONCE_BYTES,
    OVERHEAD,
    SealedFormatError,
    SealedKeyMissingError,
    SealedKeyNotYoursError,
    SealedTamperedError,
    key_commitment,
    new_content_key,
    open_sealed,
    seal,
)
from node.protocol.sealed_keys import (
    KEYS_V1,
    Recipient,
    build_key_document,
    parse_key_document,
    unwrap_key,
)

KEY = bytes(range(32))
# Pins: sealing is deterministic (synthetic nonces), so these bytes must never change for
# sealed@1; a change would give every confidential task's pages new CIDs.
PINNED_BLOB = (
    "6c6e7365616c656401e69a9e9db8f4b9fda569cc5705151af61b27e1c5e856286410bbf03467a7b9"
    "c4f617565e52fb3a37248c65fea787981097d3c4323a883ca7d1ad86"
)
PINNED_CID = "bafkreiakytiyx5h5cvclna5sewlk5rkw25ls54q6t2zl3xoaxqmj5hwv6y"
PINNED_KEY_DOCUMENT_CID = "bafkreib2ei37n5ftnounkmhjxtuzqkopidccupmgz25bo767nxbe2lxzha"
PINNED_COMMITMENT = "b4ff18f2105efc961a6012fdd307bc34b34f2ab99cb881d62ddde4637647dca5"


def _node(seed: int) -> tuple[str, PrivateKey]:
    account = Account.from_key(bytes([seed]) * 32)
    return account.address, PrivateKey(bytes([seed + 100]) * 32)


def test_seal_is_pinned_and_opens() -> None:
    blob = seal(KEY, "items", b"hello, sealed world")
    assert blob.hex() == PINNED_BLOB
    assert compute_cid(blob) == PINNED_CID
    assert key_commitment(KEY) == PINNED_COMMITMENT
    assert open_sealed(KEY, "items", blob) == b"hello, sealed world"
    assert len(blob) == len(b"hello, sealed world") + OVERHEAD


def test_nonces_differ_per_plaintext_and_context() -> None:
    def nonce(blob: bytes) -> bytes:
        return blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]

    a, b = seal(KEY, "items", b"page a"), seal(KEY, "items", b"page b")
    c = seal(KEY, "media", b"page a")
    assert len({nonce(a), nonce(b), nonce(c)}) == 3
    assert seal(KEY, "items", b"page a") == a


@pytest.mark.parametrize("position", [0, len(MAGIC), len(MAGIC) + NONCE_BYTES, -1])
def test_any_flipped_byte_is_refused(position: int) -> None:
    blob = bytearray(seal(KEY, "items", b"the secret item text"))
    blob[position] ^= 0x01
    with pytest.raises((SealedTamperedError, SealedFormatError)):
        open_sealed(KEY, "items", bytes(blob))


def test_other_context_or_key_is_refused() -> None:
    blob = seal(KEY, "items", b"x")
    with pytest.raises(SealedTamperedError, match="fails authentication"):
        open_sealed(KEY, "labels", blob)
    with pytest.raises(SealedTamperedError):
        open_sealed(new_content_key(), "items", blob)
    with pytest.raises(SealedFormatError, match="not a labelnet/sealed@1 blob"):
        open_sealed(KEY, "items", b"plain text")
    with pytest.raises(SealedFormatError, match="content key"):
        seal(KEY[:16], "items", b"x")
    with pytest.raises(SealedFormatError, match="context"):
        seal(KEY, "Items\n", b"x")


def test_key_document_wraps_to_each_recipient_only() -> None:
    (alice, alice_sk), (bob, bob_sk), (eve, eve_sk) = _node(1), _node(2), _node(3)
    key = new_content_key()
    recipients = [
        Recipient(bob, bytes(bob_sk.public_key)),
        Recipient(alice, bytes(alice_sk.public_key)),
    ]
    data = build_key_document("task/7", key, recipients)
    document = parse_key_document(data)
    assert document.scope == "task/7"
    assert document.addresses == tuple(sorted([alice.lower(), bob.lower()]))
    assert unwrap_key(document, alice, bytes(alice_sk)) == key
    assert unwrap_key(document, bob, bytes(bob_sk)) == key
    assert key.hex() not in data.decode()
    with pytest.raises(SealedKeyMissingError, match="not a recipient of task/7"):
        unwrap_key(document, eve, bytes(eve_sk))
    with pytest.raises(SealedKeyNotYoursError, match="wrapped to public key"):
        unwrap_key(document, alice, bytes(eve_sk))


def test_tampered_wrap_and_forged_commitment_are_refused() -> None:
    (alice, alice_sk) = _node(1)
    key = new_content_key()
    data = build_key_document("task/7", key, [Recipient(alice, bytes(alice_sk.public_key))])
    raw = json.loads(data)
    wrapped = bytearray(bytes.fromhex(raw["recipients"][0]["wrapped"]))
    wrapped[-1] ^= 1
    raw["recipients"][0]["wrapped"] = wrapped.hex()
    with pytest.raises(SealedKeyNotYoursError, match="tampered"):
        unwrap_key(parse_key_document(canonical_json(raw)), alice, bytes(alice_sk))
    raw = json.loads(data)
    raw["commitment"] = key_commitment(new_content_key())
    with pytest.raises(SealedTamperedError, match="not the key task/7 commits to"):
        unwrap_key(parse_key_document(canonical_json(raw)), alice, bytes(alice_sk))


def test_key_document_format_is_pinned() -> None:
    """The schema is fixed: a document with these fields in this order parses, and its CID
    is the pinned one (canonical JSON; wraps themselves are random, so fixed here)."""
    alice, alice_sk = _node(1)
    document = {
        "schema": KEYS_V1,
        "sealed": "labelnet/sealed@1",
        "scope": "task/7",
        "commitment": PINNED_COMMITMENT,
        "content": PINNED_CID,
        "recipients": [
            {
                "address": alice,
                "public_key": bytes(alice_sk.public_key).hex(),
                "wrapped": "ab" * 80,
            }
        ],
    }
    data = canonical_json(document)
    assert compute_cid(data) == PINNED_KEY_DOCUMENT_CID
    parsed = parse_key_document(data)
    assert parsed.content == PINNED_CID
    assert parsed.wrapped[alice.lower()][1] == bytes.fromhex("ab" * 80)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="labelnet/sealed-keys@2"), "not a labelnet/sealed-keys@1"),
        (lambda d: d.update(extra=1), "exactly its six fields"),
        (lambda d: d.update(sealed="labelnet/sealed@2"), "unknown sealing format"),
        (lambda d: d.update(scope="Task 7"), "scope"),
        (lambda d: d.update(commitment="00"), "commitment"),
        (lambda d: d.update(content="Qm123"), "base32 CIDv1 or null"),
        (lambda d: d.update(recipients=[]), "1..1000"),
        (lambda d: d["recipients"].append(dict(d["recipients"][0])), "sorted by address"),
        (lambda d: d["recipients"][0].update(address="0xabc"), "not checksummed"),
        (lambda d: d["recipients"][0].update(public_key="00" * 32), "all-zero"),
        (lambda d: d["recipients"][0].update(wrapped="AB" * 80), "lower-case hex"),
    ],
)
def test_malformed_key_documents_are_refused(change: object, message: str) -> None:
    alice, alice_sk = _node(1)
    document = json.loads(
        build_key_document("task/7", KEY, [Recipient(alice, bytes(alice_sk.public_key))])
    )
    change(document)  # type: ignore[operator]
    with pytest.raises(SealedFormatError, match=message):
        parse_key_document(canonical_json(document))


def test_non_canonical_key_document_is_refused() -> None:
    alice, alice_sk = _node(1)
    data = build_key_document("task/7", KEY, [Recipient(alice, bytes(alice_sk.public_key))])
    with pytest.raises(SealedFormatError, match="canonical"):
        parse_key_document(json.dumps(json.loads(data), indent=1).encode())


def test_encryption_key_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "encryption-key.json"
    key = create_encryption_key(path, "pw", fast=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key.secret.hex() not in path.read_text()
    assert load_encryption_key(path, "pw").public_key == key.public_key
    with pytest.raises(KeystoreError, match="wrong password"):
        load_encryption_key(path, "other")
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        create_encryption_key(path, "pw", fast=True)
    with pytest.raises(KeystoreError, match="no encryption key"):
        load_encryption_key(tmp_path / "missing.json", "pw")


def test_a_damaged_encryption_key_file_is_one_clear_error(tmp_path: Path) -> None:
    """Were a UnicodeDecodeError traceback, a recursion crash (a few hundred thousand deep),
    and argon2id asked for whatever memory and passes the file named."""
    path = tmp_path / "encryption-key.json"
    create_encryption_key(path, "pw", fast=True)
    good = json.loads(path.read_text())
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    with pytest.raises(KeystoreError, match="not a JSON encryption key file: 'utf-8' codec"):
        load_encryption_key(binary, "pw")
    deep = tmp_path / "deep.json"
    deep.write_text('{"kdf": ' + "[" * 65 + "]" * 65 + "}")
    with pytest.raises(KeystoreError, match="not a JSON encryption key file: JSON nested 66"):
        load_encryption_key(deep, "pw")
    for field, value in (("memlimit", 1 << 40), ("opslimit", 1 << 40), ("memlimit", "8192")):
        damaged = tmp_path / f"{field}.json"
        damaged.write_text(json.dumps({**good, "kdf": {**good["kdf"], field: value}}))
        with pytest.raises(KeystoreError, match="argon2id limits out of range"):
            load_encryption_key(damaged, "pw")
    for document in ([], "key", {"format": good["format"]}):
        damaged = tmp_path / "shape.json"
        damaged.write_text(json.dumps(document))
        with pytest.raises(KeystoreError, match="is not a labelnet/encryption-key@1 file"):
            load_encryption_key(damaged, "pw")
