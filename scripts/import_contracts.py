"""A contract type for import-linter that says what is public, not what is private.

import-linter's own ``forbidden`` contract lists what a package may not import, so every
module nobody thought to list is allowed: adding ``node/roles/foo.py`` made it part of the
SDK's surface without anyone deciding so. A ``public`` contract lists what the source
modules may import from a package (``within``); every other module of that package is
refused, new ones included.

* ``public_packages``: importable with everything under them (``node.protocol``);
* ``public_modules``: importable themselves, their submodules not (``node.roles.requester``,
  a facade whose ``__all__`` is the surface; its submodules are its own business).

Only direct imports are checked: a public module may use private ones, which is what
makes it a facade. ``.importlinter`` registers the type (``contract_types``); lint-imports
runs from the repository root, which it puts on ``sys.path``, so this file is found as
``scripts.import_contracts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True)
class IllegalImport:
    importer: str
    imported: str
    line_numbers: tuple[int, ...]


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class PublicContract(Contract):
    """``source_modules`` (and their descendants) import from ``within`` only its
    ``public_packages`` (with descendants) and ``public_modules`` (alone)."""

    type_name = "public"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    within = fields.ModuleField()
    public_packages = fields.ListField(subfield=fields.ModuleField(), required=False)
    public_modules = fields.ListField(subfield=fields.ModuleField(), required=False)

    def _names(self, field_name: str) -> list[str]:
        modules = getattr(self, field_name) or []
        return [module.name for module in modules]

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        within: str = self.within.name  # type: ignore[attr-defined]
        packages, modules = self._names("public_packages"), set(self._names("public_modules"))
        importers: set[str] = set()
        for source in self._names("source_modules"):
            importers |= {source} | graph.find_descendants(source)
        illegal: list[IllegalImport] = []
        for importer in sorted(importers):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if not _under(imported, within) or imported in modules:
                    continue
                if any(_under(imported, package) for package in packages):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = tuple(detail["line_number"] for detail in details)
                illegal.append(IllegalImport(importer, imported, lines))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        illegal: list[IllegalImport] = check.metadata["illegal"]
        output.print_error(f"Imports of modules that {self.within} does not make public:")
        output.new_line()
        for link in illegal:
            lines = ", ".join(map(str, link.line_numbers))
            output.print_error(f"- {link.importer} -> {link.imported} (l.{lines})", bold=False)
        output.new_line()
