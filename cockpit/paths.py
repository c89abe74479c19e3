"""Where cockpit keeps its files, and how the user overrides that.

Precedence for the database: `--db PATH`, then `COCKPIT_DB`, then the platform data directory.
Precedence for the user config: `--config PATH`, then `COCKPIT_CONFIG`, then the platform config directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "cockpit"
DB_ENV = "COCKPIT_DB"
CONFIG_ENV = "COCKPIT_CONFIG"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "cockpit.db"


def demo_db_path() -> Path:
    """The demo book lives in its own file so that `cockpit demo` never touches the user's data."""
    return data_dir() / "demo.db"


def resolve_db_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(DB_ENV)
    if from_env:
        return Path(from_env)
    return default_db_path()


def resolve_user_config_path(explicit: Path | None) -> Path | None:
    """Return the user config file to layer over the defaults, if any.

    A file the user named must exist (loading it reports otherwise); the platform default is used only
    when present.
    """
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    default = config_dir() / "config.toml"
    return default if default.exists() else None
