"""Settings come from explicit values, then LABELNET_* variables, then a TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from node.config import SettingsFileError, load_settings


def test_defaults_bind_loopback_and_use_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.host == "127.0.0.1"
    assert settings.database == f"sqlite:///{tmp_path / 'node.db'}"
    assert settings.keystore_path == tmp_path / "keystore.json"
    assert settings.gateway_url == "http://127.0.0.1:7420"


def test_precedence_explicit_over_env_over_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "node.toml"
    config.write_text('role = "validator"\nport = 9000\nrpc_url = "http://toml:1"\n')
    monkeypatch.setenv("LABELNET_PORT", "9100")
    monkeypatch.setenv("LABELNET_RPC_URL", "http://env:2")
    settings = load_settings(config, rpc_url="http://explicit:3", data_dir=tmp_path)
    assert settings.role == "validator"  # only in the file
    assert settings.port == 9100  # the environment beats the file
    assert settings.rpc_url == "http://explicit:3"  # explicit beats both


def test_bad_values_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, role="king")
    with pytest.raises(ValidationError):
        load_settings(data_dir=tmp_path, port=70000)
    config = tmp_path / "node.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(ValidationError):
        load_settings(config, data_dir=tmp_path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"[[[[", "Invalid initial character"), (b"port = \xff\n", "'utf-8' codec can't decode")],
)
def test_a_settings_file_that_is_not_toml_is_a_settings_file_error(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    # Were the parser's TOMLDecodeError and UnicodeDecodeError, a traceback at node start.
    config = tmp_path / "node.toml"
    config.write_bytes(content)
    with pytest.raises(SettingsFileError) as refused:
        load_settings(config, data_dir=tmp_path)
    assert str(refused.value).startswith(f"{config} is not a TOML settings file: ")
    assert problem in str(refused.value)


def test_password_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    assert load_settings(data_dir=tmp_path, keystore_password_file=secret).password() == "hunter2"
    assert load_settings(data_dir=tmp_path).password() is None


def test_a_password_file_that_is_not_utf8_is_a_settings_file_error(tmp_path: Path) -> None:
    # Was a UnicodeDecodeError traceback when the node opened its keystore.
    secret = tmp_path / "password"
    secret.write_bytes(b"\xffhunter2\n")
    settings = load_settings(data_dir=tmp_path, keystore_password_file=secret)
    with pytest.raises(SettingsFileError) as refused:
        settings.password()
    assert str(refused.value) == (
        f"keystore_password_file {secret} is not UTF-8 text: invalid start byte at byte 0"
    )
