"""wallet new/import: keystores that round-trip, and clear errors for bad keys."""

from __future__ import annotations

import json
from pathlib import Path

from node.keys import keystore_address, load_keystore
from tests.client.conftest import assert_one_line_error, run


def test_wallet_new_then_import_of_its_key_gives_the_same_address(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("hunter2\n")
    created = run(
        "wallet",
        "new",
        "--out",
        str(tmp_path / "a.json"),
        "--password-file",
        str(password),
        "--json",
    )
    assert created.exit_code == 0, created.stderr
    address = json.loads(created.stdout)["address"]
    assert keystore_address(tmp_path / "a.json") == address
    key = load_keystore(tmp_path / "a.json", "hunter2").key
    key_file = tmp_path / "key.hex"
    key_file.write_text("0x" + key.hex() + "\n")

    imported = run(
        "wallet", "import", str(key_file), "--out", str(tmp_path / "b.json"),
        "--password-file", str(password),
    )  # fmt: skip
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.startswith(address)
    assert load_keystore(tmp_path / "b.json", "hunter2").address == address


def test_wallet_new_prompts_for_the_password_twice(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    result = run("wallet", "new", "--out", str(out), input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.stderr
    assert load_keystore(out, "s3cret").address in result.stdout


def test_wallet_import_from_stdin(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("pw")
    key = "11" * 32
    result = run(
        "wallet", "import", "--private-key-stdin", "--out", str(tmp_path / "k.json"),
        "--password-file", str(password), input=key + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert load_keystore(tmp_path / "k.json", "pw").key.hex() == key


def test_wallet_import_rejects_a_bad_key_and_an_existing_file(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("pw")
    bad = tmp_path / "bad.hex"
    bad.write_text("not hex")
    result = run("wallet", "import", str(bad), "--password-file", str(password))
    assert_one_line_error(result, "not a hex private key")
    (tmp_path / "taken.json").write_text("{}")
    good = tmp_path / "good.hex"
    good.write_text("22" * 32)
    again = run(
        "wallet", "import", str(good), "--out", str(tmp_path / "taken.json"),
        "--password-file", str(password),
    )  # fmt: skip
    assert_one_line_error(again, "already exists")


def test_wallet_import_of_a_key_outside_the_curve_is_one_line(tmp_path: Path) -> None:
    """error: not a secp256k1 private key: ... (was eth-keys' ValueError, a traceback)."""
    password = tmp_path / "pw"
    password.write_text("pw")
    zero = tmp_path / "zero.hex"
    zero.write_text("0x" + "00" * 32)
    out = tmp_path / "k.json"
    result = run("wallet", "import", str(zero), "--out", str(out), "--password-file", str(password))
    assert_one_line_error(result, "not a secp256k1 private key")
    assert not out.exists()
