"""One-file encrypted backups, so years of sessions survive a change of laptop.

A backup has its own passphrase (it may travel by USB stick or cloud). Layout:
    "RFLBAK" | version u16 | header length u32 | header JSON (Argon2id settings)
    then one sealed object (reflect.crypto) whose key is the stretched backup passphrase.
The sealed body is a sequence of records: u32 length + JSON {name, purpose, size}, then the
object's bytes. Restoring adds each session in its own transaction and skips sessions whose
content is already in the vault, so a restore can be interrupted and simply run again.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reflect import crypto
from reflect.errors import ReflectError, VaultCorrupted, VaultTooNew, WrongPassphrase
from reflect.fsutil import atomic_write
from reflect.recording import audio_name, recording_info
from reflect.session import Session
from reflect.store import CATALOG, INDEX_PREFIX, SESSION_PREFIX, SETTINGS, SessionStore, Settings
from reflect.vault import normalize_passphrase

MAGIC = b"RFLBAK"
VERSION = 1
_PREFIX = struct.Struct(">6sHI")
_RECORD = struct.Struct(">I")
_BACKUP_PURPOSE = "backup"


class BackupError(ReflectError):
    title = "Backup problem"


@dataclass(frozen=True, slots=True)
class RestoreReport:
    restored: int
    already_present: int


def _records(store: SessionStore) -> Iterator[bytes]:
    vault = store.vault
    names = [SETTINGS] if SETTINGS in vault else []
    for summary in store.catalog():
        names.append(SESSION_PREFIX + summary.id)
        if INDEX_PREFIX + summary.id in vault:
            names.append(INDEX_PREFIX + summary.id)
        if audio_name(summary.id) in vault:
            names.append(audio_name(summary.id))
    for name in names:
        data = vault.get(name)
        head = json.dumps({"name": name, "size": len(data)}).encode()
        yield _RECORD.pack(len(head)) + head
        yield data


def write_backup(
    store: SessionStore,
    target: Path,
    passphrase: str,
    *,
    kdf: crypto.KdfParams | None = None,
) -> int:
    """Write every session (with its index and recording) and the settings to `target`.
    Returns how many sessions. Unfinished transcriptions are not included."""
    kdf = kdf or crypto.tune_kdf_params()
    header = json.dumps({"kdf": kdf.to_json()}).encode()
    key = kdf.derive(normalize_passphrase(passphrase))
    object_id = crypto.new_object_id()

    def pieces() -> Iterator[bytes]:
        yield _PREFIX.pack(MAGIC, VERSION, len(header)) + header
        yield from crypto.seal(key, _BACKUP_PURPOSE, object_id, _records(store))

    atomic_write(target, pieces())
    return len(store.catalog())


def read_backup(source: Path, passphrase: str) -> Iterator[tuple[str, bytes]]:
    try:
        blob = source.read_bytes()
    except OSError as e:
        raise BackupError(f"Can't read {source}: {e.strerror}.") from None
    if len(blob) < _PREFIX.size or blob[:6] != MAGIC:
        raise BackupError(f"{source.name} is not a reflect backup.")
    _magic, version, header_len = _PREFIX.unpack_from(blob)
    if version > VERSION:
        raise VaultTooNew(
            f"{source.name} was made by a newer reflect; update reflect to restore it."
        )
    try:
        header = json.loads(blob[_PREFIX.size : _PREFIX.size + header_len])
        kdf = crypto.KdfParams.from_json(header["kdf"])
    except (ValueError, KeyError, TypeError):
        raise VaultCorrupted(f"{source.name} is damaged: its header is unreadable.") from None
    body = blob[_PREFIX.size + header_len :]
    key = kdf.derive(normalize_passphrase(passphrase))
    sealed_header = crypto.read_header(body, source.name)
    try:
        data = crypto.open_sealed(
            key, _BACKUP_PURPOSE, body, expected_id=sealed_header.object_id, what=source.name
        )
    except VaultCorrupted:
        # With no separate key check, a wrong passphrase and a damaged file look alike.
        raise WrongPassphrase(
            f"That passphrase doesn't open {source.name}, or the file is damaged."
        ) from None
    pos = 0
    while pos < len(data):
        (head_len,) = _RECORD.unpack_from(data, pos)
        head = json.loads(data[pos + 4 : pos + 4 + head_len])
        start = pos + 4 + head_len
        yield head["name"], data[start : start + head["size"]]
        pos = start + head["size"]


def restore_backup(
    store: SessionStore,
    source: Path,
    passphrase: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> RestoreReport:
    records = dict(read_backup(source, passphrase))
    if SETTINGS in records:
        theirs = Settings.from_dict(json.loads(records[SETTINGS]))

        def merge_me(ours: Settings) -> None:
            ours.me += [label for label in theirs.me if label not in ours.me]

        store.change_settings(merge_me)
    known = {s.content_hash for s in store.catalog()}
    restored = present = 0
    for name, data in records.items():
        if not name.startswith(SESSION_PREFIX) or name == CATALOG:
            continue
        session = Session.from_dict(json.loads(data))
        if session.content_hash in known:
            present += 1
            continue
        index_record = records.get(INDEX_PREFIX + session.id)
        audio = records.get(audio_name(session.id))
        if any(s.id == session.id for s in store.catalog()):
            session.id = store.new_session_id()
        info = recording_info(session)
        if info is not None:
            # The recording is filed under the session's id, which may have changed.
            info["audio"] = audio_name(session.id) if audio is not None else None
        known.add(session.content_hash)
        if store.add(session, index_record, audio=audio) is not None:
            present += 1  # another import or restore stored it meanwhile
            continue
        restored += 1
        if progress:
            progress(restored)
    return RestoreReport(restored, present)
