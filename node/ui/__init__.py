"""The labeling web page the node serves: static assets (``static/``) and the safe markdown
renderer for task instructions. Nothing here imports FastAPI; :mod:`node.api.routes.ui`
serves the assets."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
"""The page's HTML shell, ES modules, stylesheet and icon (no build step)."""
