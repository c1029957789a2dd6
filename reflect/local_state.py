"""What reflect remembers about vaults on this computer, kept outside them (the state folder).

- The newest generation seen of each vault, so that a whole vault folder put back to an
  older copy (by a sync tool, a restore from another backup tool, or someone with access to
  the folder) is noticed. The vault's own manifest can't notice that: the old copy is
  consistent with itself. Each record carries an HMAC under a key derived from the vault key,
  so nobody without the passphrase can forge a higher one; deleting or lowering a record only
  loses a warning, never data.
- What a process holding a vault's writer lock is doing, so one waiting for it can say so.

Nothing here derives from a transcript: vault ids (they are in each key file in clear too),
counters and a command name. Everything is best effort: if the state folder can't be read or
written, reflect works as before, only without these notices.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reflect import crypto, paths, schema
from reflect.fsutil import atomic_write, ensure_private_dir

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the worst a race does is lose a notice
    fcntl = None  # type: ignore[assignment]

SEEN_FILE = "seen-vaults.json"
_SEEN_LOCK = "seen-vaults.lock"
_MAC_LABEL = "local-state/seen-generation"
_VAULT_ID = re.compile(r"[0-9a-f]{32}")
_ACTIVITY = re.compile(r"[a-z][a-z -]{0,31}")
# Enough for everyone's vaults and test runs alike; the file stays small to rewrite each commit.
MAX_VAULTS = 200


def seen_file() -> Path:
    return paths.state_dir() / SEEN_FILE


def _mac(mac_key: bytes, vault_id: str, generation: int) -> str:
    return hmac.new(mac_key, f"{vault_id}\n{generation}".encode(), hashlib.sha256).hexdigest()


def mac_key(vault_key: bytes) -> bytes:
    return crypto.derive_subkey(vault_key, _MAC_LABEL)


class _Unreadable(Exception):
    pass


# Each entry is checked where it is used (`seen_generation`): one bad entry loses the notice
# for its own vault only.
_SEEN_SCHEMA = {"vaults": schema.dict_of(schema.anything)}
_ENTRY_SCHEMA = {"generation": schema.natural, "mac": schema.hex_string}


def _read() -> dict[str, Any]:
    """The records, or none if the file is missing or damaged: only a notice is lost."""
    try:
        data = schema.load(seen_file().read_bytes(), _SEEN_SCHEMA, _Unreadable)
    except (OSError, _Unreadable):
        return {}
    vaults: dict[str, Any] = data["vaults"]
    return vaults


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    folder = paths.state_dir()
    ensure_private_dir(folder)
    fd = os.open(folder / _SEEN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def seen_generation(vault_id: str, key: bytes) -> int | None:
    """The newest generation recorded for this vault, if the record is genuine."""
    entry = _read().get(vault_id)
    if not schema.matches(entry, _ENTRY_SCHEMA):
        return None
    assert isinstance(entry, dict)
    generation: int = entry["generation"]
    if not hmac.compare_digest(entry["mac"], _mac(key, vault_id, generation)):
        return None
    return generation


def record_generation(vault_id: str, generation: int, key: bytes, *, newer_only: bool) -> None:
    """Remember `generation` for this vault (unless a newer one is known and `newer_only`)."""
    with contextlib.suppress(OSError), _locked():
        vaults = _read()
        if newer_only:
            known = seen_generation(vault_id, key)
            if known is not None and known >= generation:
                return
        vaults.pop(vault_id, None)
        vaults[vault_id] = {"generation": generation, "mac": _mac(key, vault_id, generation)}
        while len(vaults) > MAX_VAULTS:  # the least recently written go first
            del vaults[next(iter(vaults))]
        atomic_write(seen_file(), json.dumps({"vaults": vaults}, indent=1).encode())


def known_vault_ids() -> list[str]:
    """Vault ids this computer has seen, unauthenticated: only for explaining a failure."""
    return [v for v in _read() if isinstance(v, str) and _VAULT_ID.fullmatch(v)]


# ---- what the writer is doing ---------------------------------------------------------------


def _activity_file(vault_id: str) -> Path:
    # Hashed: the id comes from a key file, which may hold anything.
    return paths.state_dir() / f"busy-{hashlib.sha256(vault_id.encode()).hexdigest()[:32]}"


def note_activity(vault_id: str, activity: str | None) -> None:
    """Say (or, with None, stop saying) what this process does while it holds the lock."""
    with contextlib.suppress(OSError):
        target = _activity_file(vault_id)
        if activity is None:
            target.unlink(missing_ok=True)
            return
        ensure_private_dir(target.parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii", errors="replace") as f:
            f.write(activity)


def activity_of(vault_id: str) -> str | None:
    """What the lock holder said it does; None if unknown or not a plain word or two."""
    try:
        text = _activity_file(vault_id).read_text(encoding="ascii", errors="replace")[:64]
    except OSError:
        return None
    return text if _ACTIVITY.fullmatch(text) else None
