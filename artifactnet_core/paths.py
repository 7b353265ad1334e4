"""Where things live: package data, the cache, and the figures folder.

Paths are resolved from the package or from environment variables, never from the working
directory, so notebooks, tests and the CLI agree wherever they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository checkout holding this package (for an editable install).
REPO_DIR = PACKAGE_DIR.parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"


def _folder(variable: str, default: Path) -> Path:
    """``$variable`` if set, else ``default``; created."""
    env = os.environ.get(variable)
    root = Path(env).expanduser() if env else default
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir() -> Path:
    """Return the cache root, ``$ARTIFACTNET_CACHE`` or ``~/.cache/artifactnet`` (created)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return _folder("ARTIFACTNET_CACHE", (Path(xdg) if xdg else Path.home() / ".cache")
                   / "artifactnet")


def runs_root(bench_sha256: str) -> Path:
    """The cache folder of everything trained on the benchmark whose manifest has SHA-256
    ``bench_sha256`` (not created)."""
    return cache_dir() / "runs" / bench_sha256[:16]


def figures_dir() -> Path:
    """Return the folder figures and tables are written to, ``$ARTIFACTNET_FIGURES`` or
    ``figures/`` of the repository (created)."""
    return _folder("ARTIFACTNET_FIGURES", REPO_DIR / "figures")


def cards_dir() -> Path:
    """Return the folder data and model cards are written to, ``$ARTIFACTNET_CARDS`` or
    ``data_cards/`` of the repository (created)."""
    return _folder("ARTIFACTNET_CARDS", REPO_DIR / "data_cards")
