"""The ``public`` import contract (scripts/import_contracts.py): the SDK's imports of node are
checked against a list of what is public, so a module nobody listed is refused."""

from __future__ import annotations

import configparser
from pathlib import Path

import grimp
import pytest

from scripts.import_contracts import PublicContract

ROOT = Path(__file__).resolve().parents[2]


def graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    built = grimp.ImportGraph()
    for module in ("client", "client.sdk", "node", "node.roles", "node.protocol"):
        built.add_module(module)
    for number, (importer, imported) in enumerate(imports, start=1):
        built.add_import(
            importer=importer, imported=imported, line_number=number, line_contents="import"
        )
    return built


def contract(**options: object) -> PublicContract:
    return PublicContract(
        "sdk",
        {},
        {
            "source_modules": ["client.sdk"],
            "within": "node",
            "public_packages": ["node.protocol"],
            "public_modules": ["node.roles.requester"],
            **options,
        },
    )


def test_imports_of_listed_packages_and_modules_are_kept() -> None:
    check = contract().check(
        graph(
            ("client.sdk.requester", "node.roles.requester"),
            ("client.sdk.requester", "node.protocol.result"),
            ("client.sdk", "node.protocol"),
            ("client.sdk.requester", "web3"),  # outside node: not this contract's business
            ("client.cli", "node.roles.requester.results"),  # not a source module
            # a public facade may import what it hides
            ("node.roles.requester", "node.roles.requester.results"),
        ),
        verbose=False,
    )
    assert check.kept


@pytest.mark.parametrize(
    "imported",
    [
        "node.roles.requester.results",  # a submodule of a public module is not public
        "node.roles.validator",  # nor a module nobody listed
        "node.roles.new_duty",  # new ones included
        "node.roles",
    ],
)
def test_an_import_of_anything_else_of_node_breaks_it(imported: str) -> None:
    check = contract().check(graph(("client.sdk.annotator", imported)), verbose=False)
    assert not check.kept
    [illegal] = check.metadata["illegal"]
    assert (illegal.importer, illegal.imported, illegal.line_numbers) == (
        "client.sdk.annotator",
        imported,
        (1,),
    )


def test_the_sdk_contract_in_importlinter_is_of_this_type() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    assert (
        "public: scripts.import_contracts.PublicContract"
        in config["importlinter"]["contract_types"].splitlines()
    )
    sdk = config["importlinter:contract:sdk"]
    assert sdk["type"] == "public" and sdk["source_modules"].split() == ["client.sdk"]
    assert "node.roles.requester" in sdk["public_modules"].split()
