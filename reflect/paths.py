"""Where reflect keeps things on this computer (platformdirs: the OS's own conventions)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "reflect"


def default_vault_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "vault"


def demo_vault_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "demo-vault"


def cache_dir() -> Path:
    """Only non-sensitive things live here (the assembled bundled model), never session data."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """What reflect remembers about vaults on this computer, outside them (never session data)."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def resolve_vault_dir(option: str | os.PathLike[str] | None) -> Path:
    """`--vault DIR`, else REFLECT_VAULT, else the user's data folder."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get("REFLECT_VAULT")
    if env:
        return Path(env).expanduser()
    return default_vault_dir()
