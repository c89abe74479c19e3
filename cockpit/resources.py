"""Files shipped with cockpit: the default configuration and the demo book.

In a source checkout (and an editable install) they sit at the top of the repository; a built wheel carries
them inside the package under `_data/` (see the hatch force-include in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.exists():
        return packaged
    return _PACKAGE_DIR.parent / name


def default_config_file() -> Path:
    return _shipped("config.toml")


def seeds_dir() -> Path:
    return _shipped("seeds")
