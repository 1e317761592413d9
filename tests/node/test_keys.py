"""Keystores round-trip, reject wrong passwords, and interoperate with Foundry's cast."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest

from node.keys import KeystoreError, create_keystore, keystore_address, load_keystore

ROOT = Path(__file__).resolve().parents[2]
CAST = ROOT / "node_modules" / ".bin" / "cast"


def test_create_then_load_returns_same_account(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.json"
    created = create_keystore(path, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keystore(path, "correct horse")
    assert loaded.address == created.address == keystore_address(path)
    assert loaded.key == created.key


def test_wrong_password_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    create_keystore(path, "right")
    with pytest.raises(KeystoreError, match="wrong password"):
        load_keystore(path, "wrong")


def test_missing_and_malformed_keystores(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="labelnet wallet new"):
        load_keystore(tmp_path / "absent.json", "pw")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(KeystoreError, match="not a JSON keystore"):
        load_keystore(garbage, "pw")
    partial = tmp_path / "partial.json"
    partial.write_text('{"address": "00"}')
    with pytest.raises(KeystoreError):
        load_keystore(partial, "pw")
    # Were a UnicodeDecodeError traceback, and (a few hundred thousand deep) SIGSEGV.
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    with pytest.raises(KeystoreError, match=r"binary.json is not a JSON keystore: 'utf-8' codec"):
        load_keystore(binary, "pw")
    deep = tmp_path / "deep.json"
    deep.write_text('{"crypto": ' + "[" * 65 + "]" * 65 + "}")
    with pytest.raises(KeystoreError, match=r"deep.json is not a JSON keystore: JSON nested 66"):
        load_keystore(deep, "pw")
    with pytest.raises(KeystoreError, match="JSON nested 66 deep"):
        keystore_address(deep)


def test_refuses_to_overwrite_or_use_empty_password(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    create_keystore(path, "pw")
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(path, "pw")
    with pytest.raises(KeystoreError, match="non-empty"):
        create_keystore(tmp_path / "other.json", "")


@pytest.mark.parametrize("key", [b"\x00" * 32, b"\xff" * 32])
def test_a_key_outside_the_curve_is_refused_and_nothing_is_written(
    tmp_path: Path, key: bytes
) -> None:
    # Was eth-keys' ValueError ("must be exactly 32 bytes long, instead of 32 bytes"), a
    # traceback from `labelnet wallet import`.
    path = tmp_path / "keystore.json"
    with pytest.raises(KeystoreError, match=r"^not a secp256k1 private key: as a number it"):
        create_keystore(path, "pw", key)
    assert not path.exists()


def test_cast_reads_our_keystore(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    account = create_keystore(path, "s3cret")
    result = subprocess.run(
        [str(CAST), "wallet", "address", "--keystore", str(path), "--password", "s3cret"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == account.address


def test_we_read_casts_keystore(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CAST), "wallet", "new", str(tmp_path), "--unsafe-password", "s3cret"],
        capture_output=True,
        text=True,
        check=True,
    )
    address = re.search(r"Address:\s+(0x[0-9a-fA-F]{40})", result.stdout)
    assert address is not None
    (keyfile,) = [p for p in tmp_path.iterdir() if p.is_file()]
    assert load_keystore(keyfile, "s3cret").address == address.group(1)
