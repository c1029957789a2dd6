"""One-file encrypted backups, so years of sessions survive a change of laptop.

A backup has its own passphrase (it may travel by USB stick or cloud). Layout:
    "RFLBAK" | version u16 | header length u32 | header JSON (Argon2id settings)
    then one sealed object (reflect.crypto) whose key is the stretched backup passphrase.
The sealed body is a sequence of records: u32 length + JSON {name, size}, then the object's
bytes; a session's records come together (session, its index, its recap, its recording), and
the user's marks on agreements and the saved moments of the sessions included come last.
Restoring adds each session in its own transaction and skips sessions whose content is already
in the vault, so a restore can be interrupted and simply run again; the moments follow their
sessions, whatever ids those get.

Both directions stream: memory holds one session and a few chunks, never the backup, so a
vault with long recordings backs up and restores, and an endless or foreign input is refused
after reading a few chunks of it.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, TypeVar

from reflect import crypto, schema
from reflect.errors import (
    RecordDamaged,
    ReflectError,
    VaultCorrupted,
    VaultTooNew,
    WrongPassphrase,
)
from reflect.fsutil import atomic_write
from reflect.records import (
    AGREEMENT_STATUS,
    CATALOG,
    MOMENTS,
    SESSION_PREFIX,
    SETTINGS,
    SealedRecap,
    SessionSummary,
    Settings,
    audio_name,
    decode_agreement_marks,
    decode_moments,
    decode_session,
    decode_settings,
    encode_moments,
    index_name,
    recap_name,
    recording_info,
    session_name,
)
from reflect.session import Session
from reflect.store import SessionStore
from reflect.vault import normalize_passphrase

T = TypeVar("T")

MAGIC = b"RFLBAK"
VERSION = 1
_PREFIX = struct.Struct(">6sHI")
_RECORD = struct.Struct(">I")
_BACKUP_PURPOSE = "backup"
# Far above what reflect writes (a few hundred bytes), far below harm: a length field read
# from a damaged or foreign file must not decide how much is read.
_MAX_HEADER = 64 * 1024
_MAX_RECORD_HEAD = 64 * 1024
_MAX_CHUNK = 1024 * 1024
_PIECE = 1024 * 1024  # how much of a recording is held at once


class BackupError(ReflectError):
    title = "Backup problem"


@dataclass(frozen=True, slots=True)
class BackupReport:
    sessions: int  # everything included: sessions, notes and handouts
    left_out: list[str]  # one sentence for each damaged part the backup couldn't include
    kinds: dict[str, int] = field(default_factory=dict)  # how many of each kind included


@dataclass(frozen=True, slots=True)
class RestoreReport:
    restored: int  # sessions, notes and handouts
    already_present: int
    kinds: dict[str, int] = field(default_factory=dict)  # how many of each kind restored


def _readable(
    store: SessionStore, name: str, decode: Callable[[bytes], object] | None = None
) -> bytes | None:
    """The record's bytes, or None if it is damaged: sealed wrong, or (checked with `decode`)
    holding what reflect would refuse to read back from the backup."""
    try:
        data = store.read_raw(name)
        if decode is not None:
            decode(data)
    except VaultCorrupted:  # RecordDamaged included
        return None
    return data


def _records(
    store: SessionStore, summaries: list[SessionSummary], included: list[str], left_out: list[str]
) -> Iterator[bytes]:
    """The backup's records. A damaged object is left out with a sentence in `left_out`
    rather than failing the whole backup: the backup is how the rest is kept safe."""

    def record(name: str, data: bytes) -> Iterator[bytes]:
        yield _record_head(name, len(data))
        yield data

    if store.has(SETTINGS):
        settings = _readable(store, SETTINGS, decode_settings)
        if settings is None:
            left_out.append("Your settings are damaged, so they were left out of the backup.")
        else:
            yield from record(SETTINGS, settings)
    for summary in summaries:
        title = f"“{summary.title}” ({summary.id})"
        session = _readable(store, session_name(summary.id), decode_session)
        if session is None:
            left_out.append(f"The session {title} is damaged, so it was left out of the backup.")
            continue
        yield from record(session_name(summary.id), session)
        included.append(summary.id)
        if store.has(index_name(summary.id)):
            # Derived from the session: without it, restore rebuilds it.
            index = _readable(store, index_name(summary.id))
            if index is not None:
                yield from record(index_name(summary.id), index)
        if store.has(recap_name(summary.id)):
            # Derived too: without it, the restored vault computes it again.
            recap = _readable(store, recap_name(summary.id))
            if recap is not None:
                yield from record(recap_name(summary.id), recap)
        if store.has(audio_name(summary.id)):
            streamed = yield from _recording(store, audio_name(summary.id))
            if not streamed:
                left_out.append(
                    f"The recording of {title} is damaged, so the backup holds that session's "
                    "transcript without its recording."
                )
    if store.has(AGREEMENT_STATUS):
        marks = _readable(store, AGREEMENT_STATUS)
        if marks is None:
            left_out.append(
                "What you marked done or not for you among your agreements is damaged, so it "
                "was left out of the backup."
            )
        else:
            yield from record(AGREEMENT_STATUS, marks)
    yield from _moments_record(store, set(included), left_out)


def _moments_record(
    store: SessionStore, included: set[str], left_out: list[str]
) -> Iterator[bytes]:
    """The saved moments of the sessions in the backup (after them: restore maps their ids)."""
    if not store.has(MOMENTS):
        return
    try:
        moments = [m for m in store.moments() if m.session_id in included]
    except VaultCorrupted:
        left_out.append("Your saved moments are damaged, so they were left out of the backup.")
        return
    if moments:
        data = encode_moments(moments)
        yield _record_head(MOMENTS, len(data))
        yield data


def _record_head(name: str, size: int) -> bytes:
    head = json.dumps({"name": name, "size": size}).encode()
    return _RECORD.pack(len(head)) + head


def _recording(store: SessionStore, name: str) -> Generator[bytes, None, bool]:
    """A recording's record, a piece at a time; False (and nothing) if it is damaged.

    Read through once first, authenticating every chunk, because its size is written
    before its bytes: a damage found half-way would leave a broken backup behind.
    """
    try:
        stream = store.open_raw(name)
    except VaultCorrupted:
        return False
    with stream:
        size = 0
        try:
            while piece := stream.read(_PIECE):
                size += len(piece)
        except VaultCorrupted:
            return False
        # Same open file the second time: a writer replacing the recording meanwhile can't
        # make the bytes disagree with the size written.
        stream.seek(0)
        yield _record_head(name, size)
        while piece := stream.read(_PIECE):
            yield piece
    return True


def write_backup(
    store: SessionStore,
    target: Path,
    passphrase: str,
    *,
    kdf: crypto.KdfParams | None = None,
) -> BackupReport:
    """Write every session (with its index and recording) and the settings to `target`.
    Unfinished transcriptions are not included; damaged parts are left out and named."""
    kdf = kdf or crypto.tune_kdf_params()
    header = json.dumps({"kdf": kdf.to_json()}).encode()
    key = kdf.derive(normalize_passphrase(passphrase))
    object_id = crypto.new_object_id()
    summaries = store.catalog()
    included: list[str] = []
    left_out: list[str] = []

    def pieces() -> Iterator[bytes]:
        yield _PREFIX.pack(MAGIC, VERSION, len(header)) + header
        yield from crypto.seal(
            key, _BACKUP_PURPOSE, object_id, _records(store, summaries, included, left_out)
        )

    atomic_write(target, pieces())
    kind_of = {s.id: s.kind for s in summaries}
    return BackupReport(len(included), left_out, dict(Counter(kind_of[i] for i in included)))


class _Plain:
    """The backup's decrypted body as a byte stream, pulled a chunk at a time."""

    def __init__(self, chunks: Iterator[bytes], what: str) -> None:
        self._chunks = chunks
        self._what = what
        self._buffer = b""
        self._pos = 0

    def _fill(self) -> bool:
        while self._pos >= len(self._buffer):
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._buffer, self._pos = chunk, 0
        return True

    def at_end(self) -> bool:
        return not self._fill()

    def take(self, n: int) -> Iterator[bytes]:
        """The next `n` bytes, a piece at a time."""
        while n > 0:
            if not self._fill():
                raise _damaged(self._what)
            piece = self._buffer[self._pos : self._pos + n]
            self._pos += len(piece)
            n -= len(piece)
            yield piece

    def read(self, n: int) -> bytes:
        return b"".join(self.take(n))


def _damaged(what: str) -> VaultCorrupted:
    return VaultCorrupted(f"{what} is damaged: its header is unreadable.")


def _checked(chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
    """Tell a wrong passphrase (the first chunk fails) from damage further on."""
    try:
        first = next(chunks)
    except VaultCorrupted:
        # With no separate key check, a wrong passphrase and a damaged file look alike.
        raise WrongPassphrase(
            f"That passphrase doesn't open {what}, or the file is damaged."
        ) from None
    yield first
    try:
        yield from chunks
    except VaultCorrupted:
        raise VaultCorrupted(
            f"{what} is damaged partway through, so only the sessions before the damage "
            "could be read."
        ) from None


def read_backup(source: Path, passphrase: str) -> Iterator[tuple[str, Iterator[bytes]]]:
    """Each record of the backup as (name, its bytes a piece at a time), in order.

    A record's bytes are read only as far as the caller reads them; what it leaves unread
    is skipped before the next record.
    """
    try:
        file = source.open("rb")
    except OSError as e:
        raise BackupError(f"Can't read {source}: {e.strerror}.") from None
    with file:
        try:
            yield from _records_in(file, source.name, passphrase)
        except OSError as e:
            raise BackupError(f"Can't read {source}: {e.strerror}.") from None


def _records_in(
    file: BinaryIO, what: str, passphrase: str
) -> Iterator[tuple[str, Iterator[bytes]]]:
    prefix = file.read(_PREFIX.size)
    if len(prefix) < _PREFIX.size or prefix[:6] != MAGIC:
        raise BackupError(f"{what} is not a reflect backup.")
    _magic, version, header_len = _PREFIX.unpack(prefix)
    if header_len > _MAX_HEADER:
        raise _damaged(what)
    kdf = _header_kdf(version, file.read(header_len), what)
    key = kdf.derive(normalize_passphrase(passphrase))
    chunks = crypto.open_sealed_stream(
        key, _BACKUP_PURPOSE, file, what=what, max_chunk_size=_MAX_CHUNK
    )
    plain = _Plain(_checked(chunks, what), what)
    while not plain.at_end():
        (head_len,) = _RECORD.unpack(plain.read(_RECORD.size))
        if head_len > _MAX_RECORD_HEAD:
            raise _damaged(what)
        head = schema.load(
            plain.read(head_len), {"name": str, "size": schema.natural}, lambda: _damaged(what)
        )
        name, size = head["name"], head["size"]
        body = plain.take(size)
        yield name, body
        for _ in body:
            pass


# A format version this far ahead is a damaged header, not a future reflect.
_PLAUSIBLE_VERSIONS = 16


def _header_kdf(version: int, raw: bytes, name: str) -> crypto.KdfParams:
    """The backup's key settings, after every field of its header is checked."""

    def damaged() -> VaultCorrupted:
        return VaultCorrupted(f"{name} is damaged: its header is unreadable.")

    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise damaged() from None
    if not VERSION <= version <= VERSION + _PLAUSIBLE_VERSIONS:
        raise damaged()
    if version > VERSION:
        raise VaultTooNew(
            f"{name} was made by a newer reflect; update reflect to restore it. "
            "If reflect is up to date, the file is damaged."
        )
    schema.require(header, {"kdf": crypto.KDF_SCHEMA}, damaged)
    return crypto.KdfParams.from_json(header["kdf"])


def restore_backup(
    store: SessionStore,
    source: Path,
    passphrase: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> RestoreReport:
    known = {s.content_hash: s.id for s in store.catalog()}
    ids: dict[str, str] = {}  # a session's id in the backup -> its id in this vault
    restored = present = 0
    kinds: Counter[str] = Counter()
    # A session's records arrive together; it is stored when the next session starts, or
    # when its recording arrives (streamed straight into the vault).
    held: tuple[str, Session, bytes | None] | None = None
    recap: SealedRecap | None = None  # the held session's
    marks: bytes | None = None

    def store_held(audio: Iterable[bytes] | None) -> None:
        nonlocal restored, present, recap
        assert held is not None
        backup_id, session, index_record = held
        sealed, recap = recap, None
        if session.content_hash in known:
            ids[backup_id] = known[session.content_hash]
            present += 1
            return  # its recording, if any, is skipped unread
        if any(s.id == session.id for s in store.catalog()):
            session.id = store.new_session_id()
        info = recording_info(session)
        if info is not None:
            # The recording is filed under the session's id, which may have changed.
            info["audio"] = audio_name(session.id) if audio is not None else None
        known[session.content_hash] = session.id
        same = store.add(session, index_record, audio=audio)
        ids[backup_id] = same.id if same is not None else session.id
        if same is not None:
            present += 1  # another import or restore stored it meanwhile
            return
        restored += 1
        kinds[session.kind] += 1
        if sealed is not None:
            # Made from the session as backed up: put_recap keeps it only if it still fits.
            store.put_recap(session.id, sealed)
        if progress:
            progress(restored)

    for name, body in read_backup(source, passphrase):
        if name == SETTINGS:
            _merge_settings(store, _decoded(decode_settings, b"".join(body), source))
        elif name.startswith(SESSION_PREFIX) and name != CATALOG:
            if held is not None:
                store_held(None)
            session = _decoded(decode_session, b"".join(body), source)
            held = (session.id, session, None)
        elif held is not None and name == index_name(held[0]):
            held = (held[0], held[1], b"".join(body))
        elif held is not None and name == recap_name(held[0]):
            recap = SealedRecap.decode(b"".join(body))
        elif name == AGREEMENT_STATUS:
            marks = b"".join(body)
        elif held is not None and name == audio_name(held[0]):
            store_held(body)
            held = None
        elif name == MOMENTS:
            if held is not None:
                store_held(None)
                held = None
            moments = decode_moments(b"".join(body))
            store.merge_moments(
                [replace(m, session_id=ids[m.session_id]) for m in moments if m.session_id in ids]
            )
    if held is not None:
        store_held(None)
    if marks is not None:
        # After the sessions: only marks of sessions the vault now holds are kept.
        store.merge_agreement_marks(decode_agreement_marks(marks))
    return RestoreReport(restored, present, dict(kinds))


def _decoded(decode: Callable[[bytes], T], data: bytes, source: Path) -> T:
    """A record from the backup (authenticated by its passphrase, so this is reflect's own
    bug or a hand-made file): damage is the backup's, not the vault's."""
    try:
        return decode(data)
    except RecordDamaged:
        raise VaultCorrupted(
            f"{source.name} holds a damaged part, so the sessions after it can't be restored "
            "(those before it were)."
        ) from None


def _merge_settings(store: SessionStore, theirs: Settings) -> None:
    def merge_me(ours: Settings) -> None:
        ours.me += [label for label in theirs.me if label not in ours.me]

    # Against the settings as they are when written: a concurrent `--me` is kept too.
    store.change_settings(merge_me)
