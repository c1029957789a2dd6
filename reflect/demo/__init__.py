"""The demo vault: invented sample sessions, so anyone can try reflect without their own.

The people and sessions in `sessions/` are invented. The demo passphrase is shown on screen:
this vault holds nothing private.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from reflect import crypto
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.vault import Vault

DEMO_PASSPHRASE = "sample sessions only"
DEMO_ME = "Sam"


def demo_sessions_dir() -> Path:
    return Path(str(resources.files("reflect.demo") / "sessions"))


def open_demo(path: Path) -> tuple[Reflect, str, bool]:
    """Open the demo vault, creating and filling it on first use."""
    if Vault.exists(path):
        return Reflect.unlock(path, DEMO_PASSPHRASE), DEMO_PASSPHRASE, False
    # The floor settings keep first start quick; the demo's passphrase is public anyway.
    service = Reflect.create(path, DEMO_PASSPHRASE, kdf=crypto.floor_kdf_params())
    service.import_paths([demo_sessions_dir()], ImportOptions(me=DEMO_ME))
    return service, DEMO_PASSPHRASE, True
