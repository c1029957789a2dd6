"""The one core API. The CLI and the TUI are thin layers over `Reflect`.

A `Reflect` is an unlocked vault plus what is derived from it in memory. `lock()` drops
the keys and every decrypted structure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reflect import crypto
from reflect.errors import UsageError
from reflect.ingest import ImportOptions, ImportProgress, ImportReport, import_paths, set_me
from reflect.session import Session
from reflect.store import SessionStore, SessionSummary, Settings
from reflect.vault import Vault


class Reflect:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.store = SessionStore(vault)

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str, *, kdf: crypto.KdfParams | None = None) -> Reflect:
        return cls(Vault.create(path, passphrase, kdf=kdf))

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> Reflect:
        return cls(Vault.open(path, passphrase))

    def lock(self) -> None:
        self.vault.close()

    def change_passphrase(
        self, new_passphrase: str, *, kdf: crypto.KdfParams | None = None
    ) -> None:
        self.vault.change_passphrase(new_passphrase, kdf=kdf)

    def status(self) -> dict[str, Any]:
        st = self.vault.status()
        return {
            "path": str(st.path),
            "format_version": st.format_version,
            "sessions": len(self.store.catalog()),
            "size_bytes": st.size_bytes,
            "objects": st.object_count,
            "generation": st.generation,
            "kdf": {
                "algorithm": "argon2id",
                "memory_mib": st.kdf.memory_kib // 1024,
                "iterations": st.kdf.iterations,
                "lanes": st.kdf.lanes,
            },
        }

    # ---- sessions ----------------------------------------------------------------------

    def sessions(self) -> list[SessionSummary]:
        return self.store.catalog()

    def session(self, reference: str) -> Session:
        return self.store.get(self.store.resolve(reference).id)

    def import_paths(
        self,
        paths: Sequence[Path],
        options: ImportOptions | None = None,
        *,
        progress: Callable[[ImportProgress], None] | None = None,
    ) -> ImportReport:
        return import_paths(self.store, paths, options or ImportOptions(), progress=progress)

    def rename(self, reference: str, title: str) -> Session:
        title = title.strip()
        if not title:
            raise UsageError("A title can't be empty.")
        session = self.session(reference)
        session.title = title
        self.store.update(session)
        return session

    def redate(self, reference: str, date: dt.date) -> Session:
        session = self.session(reference)
        session.date = date
        session.date_source = "user"
        self.store.update(session)
        return session

    def remove(self, reference: str) -> SessionSummary:
        summary = self.store.resolve(reference)
        self.store.remove(summary.id)
        return summary

    def settings(self) -> Settings:
        return self.store.settings()

    def set_me(self, label: str) -> None:
        set_me(self.store, label)

    def me_labels(self) -> list[str]:
        return self.store.settings().me
