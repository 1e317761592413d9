"""Builds the optional native loops of the consensus engine (``node/consensus/_kernels.c``).

Everything else is in ``pyproject.toml``. The loops must give numpy's bits, so they are
compiled without floating-point contraction (no fused multiply-add) and without fast-math,
and only with GCC or Clang on x86-64 and ARM64, where ``double`` is IEEE-754 binary64 in SSE2
or NEON registers. Elsewhere, or if the build fails, the package installs without them and
the engine runs its numpy definitions (the same results, slower).
"""

from __future__ import annotations

import platform
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NATIVE_MACHINES = {"x86_64", "amd64", "aarch64", "arm64"}
FLAGS = [
    "-std=c11",
    "-O2",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-fno-finite-math-only",
    "-pthread",  # the E-step and the per-cell sums split large tables over threads
]


class OptionalBuildExt(build_ext):  # type: ignore[misc]
    """``build_ext`` that leaves the extension out, with a warning, where it cannot be built."""

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 - any compiler failure means "no kernels"
            print(f"warning: {ext.name} not built ({exc}); numpy definitions will run")


extensions = []
if platform.machine().lower() in NATIVE_MACHINES:
    extensions.append(
        Extension(
            "node.consensus._kernels",
            sources=["node/consensus/_kernels.c"],
            depends=sorted(str(path) for path in Path("node/consensus").glob("_kernels_*.h")),
            extra_compile_args=FLAGS,
            extra_link_args=["-pthread"],
            libraries=["m"],  # frexp (subnormals) and copysign, where they are not inlined
        )
    )

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
