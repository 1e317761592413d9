"""Make ``tests.support`` importable for this suite.

The editable install only maps ``node`` and ``client``, and pytest's default import mode
puts ``tests/`` (not the repository root) on ``sys.path`` for a package like this one. The
durable fix is ``pythonpath = ["."]`` under ``[tool.pytest.ini_options]`` in pyproject.toml;
until then this hook adds the root, at configure time rather than import time.
"""

from __future__ import annotations

import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    root = str(config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)
