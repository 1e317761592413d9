"""``labelnet wallet new|import``: encrypted V3 keystores for an account."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from client.cli.common import CliError, JsonOpt, PasswordFileOpt, emit_json, errors

app = typer.Typer(
    help="Create or import an account key (encrypted keystore).", no_args_is_help=True
)

OutOpt = Annotated[Path, typer.Option("--out", help="where to write the keystore")]


def _new_password(password_file: Path | None) -> str:
    if password_file is not None:
        password = password_file.read_text().rstrip("\n")
    else:
        password = str(typer.prompt("Keystore password", hide_input=True, confirmation_prompt=True))
    if not password:
        raise CliError("empty password", "choose a non-empty password")
    return password


def _private_key(text: str, source: str) -> bytes:
    cleaned = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError as exc:
        raise CliError(f"{source} is not a hex private key", "give 64 hex characters") from exc
    if len(key) != 32:
        raise CliError(
            f"{source} holds {len(key)} bytes, not a 32-byte key", "give 64 hex characters"
        )
    return key


def _done(address: str, out: Path, json_output: bool) -> None:
    if json_output:
        emit_json({"address": address, "keystore": str(out)})
    else:
        typer.echo(f"{address} (keystore {out})")


@app.command()
def new(
    out: OutOpt = Path("keystore.json"),
    password_file: PasswordFileOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create a new key; prompts for the password twice (or reads --password-file)."""
    from node.keys import create_keystore

    with errors():
        account = create_keystore(out, _new_password(password_file))
    _done(account.address, out, json_output)


@app.command("import")
def import_key(
    key_file: Annotated[
        Path | None, typer.Argument(help="file holding the hex private key", show_default=False)
    ] = None,
    private_key_stdin: Annotated[
        bool, typer.Option("--private-key-stdin", help="read the hex private key from stdin")
    ] = False,
    out: OutOpt = Path("keystore.json"),
    password_file: PasswordFileOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Encrypt an existing private key into a keystore."""
    from node.keys import create_keystore

    with errors():
        if (key_file is None) == (not private_key_stdin):
            raise CliError("give exactly one key source", "pass KEY_FILE or --private-key-stdin")
        if key_file is not None:
            key = _private_key(key_file.read_text(), str(key_file))
        else:
            key = _private_key(sys.stdin.readline(), "stdin")
        account = create_keystore(out, _new_password(password_file), key)
    _done(account.address, out, json_output)
