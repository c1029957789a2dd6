"""Sessions, their catalog, the user's settings and unfinished recordings, read from and
written to the vault. The only module that opens the vault's objects: their names and
encodings are in reflect.records.

A session, its index record and the catalog change in one transaction, so a session is
stored whole or not at all.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable
from typing import BinaryIO

from reflect.errors import (
    PendingDamaged,
    RecordingError,
    SessionNotFound,
    SettingsDamaged,
    UsageError,
    VaultCorrupted,
)
from reflect.kept import KeptMoment, follow_replacement, in_order
from reflect.records import (
    AGREEMENT_STATUS,
    AUDIO_PREFIX,
    CATALOG,
    MOMENTS,
    PENDING_PREFIX,
    PURPOSE_AGREEMENT_STATUS,
    PURPOSE_AUDIO,
    PURPOSE_CATALOG,
    PURPOSE_INDEX,
    PURPOSE_MOMENTS,
    PURPOSE_PENDING,
    PURPOSE_RECAP,
    PURPOSE_SESSION,
    PURPOSE_SETTINGS,
    SESSION_PREFIX,
    SESSION_RECORDS,
    SETTINGS,
    AgreementMark,
    PendingRecording,
    SealedRecap,
    SessionSummary,
    Settings,
    audio_name,
    decode_agreement_marks,
    decode_catalog,
    decode_moments,
    decode_session,
    decode_settings,
    encode_agreement_marks,
    encode_catalog,
    encode_moments,
    encode_session,
    encode_settings,
    index_name,
    pending_name,
    recap_fingerprint,
    recap_name,
    recording_info,
    session_name,
)
from reflect.session import SESSION, Session
from reflect.vault import Transaction, Vault

# Importable from here as before the layout moved to reflect.records.
__all__ = ["REMOVED_MEANWHILE", "SessionStore", "SessionSummary", "Settings"]

# Said by a writer that worked on a session another writer removed meanwhile.
REMOVED_MEANWHILE = "That session was removed meanwhile, so nothing was changed."
_DISCARDED = "its unfinished transcription was discarded meanwhile"


class SessionStore:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    # ---- reading -------------------------------------------------------------------------

    def catalog(self) -> list[SessionSummary]:
        if CATALOG not in self.vault:
            return []
        try:
            summaries = decode_catalog(self.vault.get(CATALOG))
        except VaultCorrupted:
            # Derived from the sessions, so nothing is lost: rebuilt from them and stored.
            with self.vault.transaction() as tx:
                summaries = list(self._read_catalog(tx).values())
        return sorted(summaries, key=lambda s: (s.date, s.imported_at, s.id))

    def get(self, session_id: str) -> Session:
        try:
            return decode_session(self.vault.get(session_name(session_id)))
        except KeyError:
            raise SessionNotFound(f"There is no session with id {session_id}.") from None

    def index_record(self, session_id: str) -> bytes | None:
        name = index_name(session_id)
        return self.vault.get(name) if name in self.vault else None

    def resolve(self, reference: str) -> SessionSummary:
        """A session by id, unique id prefix, list number (1 = oldest) or exact title.
        Sessions only, except by exact id (the app opens a note or a handout in the reader
        by its id): notes and handouts have lists (and numbers) of their own."""
        everything = self.catalog()
        catalog = [s for s in everything if s.kind == SESSION]
        ref = reference.strip()
        by_id = [s for s in everything if s.id == ref]
        if by_id:
            return by_id[0]
        if ref.isdigit() and 1 <= int(ref) <= len(catalog) and len(ref) < 4:
            return catalog[int(ref) - 1]
        exact = [s for s in catalog if s.id == ref]
        if exact:
            return exact[0]
        by_prefix = [s for s in catalog if s.id.startswith(ref)] if len(ref) >= 3 else []
        by_title = [s for s in catalog if s.title.casefold() == ref.casefold()]
        matches = by_prefix or by_title
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UsageError(
                f"More than one session matches {reference!r}; use its id (see `reflect sessions`)."
            )
        raise SessionNotFound(
            f"No session matches {reference!r}. `reflect sessions` lists them with their ids."
        )

    def settings(self) -> Settings:
        if SETTINGS not in self.vault:
            return Settings()
        return decode_settings(self.vault.get(SETTINGS))

    def find_by_hash(self, content_hash: str) -> SessionSummary | None:
        return next((s for s in self.catalog() if s.content_hash == content_hash), None)

    # ---- writing -------------------------------------------------------------------------

    def new_session_id(self) -> str:
        # An unfinished recording has its id already (its sealed audio is filed under it).
        taken = {s.id for s in self.catalog()} | {p.session_id for p in self.pending()}
        while True:
            candidate = secrets.token_hex(4)
            if candidate not in taken:
                return candidate

    @staticmethod
    def _write_catalog(tx: Transaction, summaries: Iterable[SessionSummary]) -> None:
        tx.put(CATALOG, encode_catalog(list(summaries)), purpose=PURPOSE_CATALOG)

    @staticmethod
    def _read_catalog(tx: Transaction) -> dict[str, SessionSummary]:
        """The catalog as it is now; a damaged one is rebuilt from the sessions (and stored
        in this transaction). A session too damaged to read can't be listed then: it is
        left where it is, for a backup tool or a later reflect to recover."""
        if CATALOG not in tx:
            return {}
        try:
            return {s.id: s for s in decode_catalog(tx.get(CATALOG))}
        except VaultCorrupted:
            pass
        rebuilt = {}
        for name in tx.names(SESSION_PREFIX):
            with contextlib.suppress(VaultCorrupted):
                session = decode_session(tx.get(name))
                if session_name(session.id) == name:
                    rebuilt[session.id] = SessionSummary.of(session)
        SessionStore._write_catalog(tx, rebuilt.values())
        return rebuilt

    def pending(self) -> list[PendingRecording]:
        """Recordings whose transcription was started and not finished."""
        return [
            PendingRecording.decode(self.vault.get(name))
            for name in self.vault.names(PENDING_PREFIX)
        ]

    def find_pending(self, content_hash: str) -> PendingRecording | None:
        name = pending_name(content_hash)
        return PendingRecording.decode(self.vault.get(name)) if name in self.vault else None

    def pending_hashes(self) -> list[str]:
        """The content hash of every unfinished recording, readable or damaged."""
        return [name.removeprefix(PENDING_PREFIX) for name in self.vault.names(PENDING_PREFIX)]

    def discard_pending(self, content_hash: str) -> str | None:
        """Forget an unfinished recording: its partial transcript and its sealed audio.
        Its source file's name, or None if there was none or it was too damaged to say."""
        name = pending_name(content_hash)
        with self.vault.transaction() as tx:
            if name not in tx:
                return None
            try:
                pending: PendingRecording | None = PendingRecording.decode(tx.get(name))
            except PendingDamaged:
                pending = None
            tx.delete(name)
            if pending is not None:
                tx.delete(audio_name(pending.session_id))
                return pending.source_file
            # Damaged, so its audio can't be named: drop every recording no session or
            # other unfinished transcription owns.
            owners = set(self._read_catalog(tx))
            for other in tx.names(PENDING_PREFIX):
                with contextlib.suppress(PendingDamaged):  # damaged too: its audio is orphaned
                    owners.add(PendingRecording.decode(tx.get(other)).session_id)
            for audio in tx.names(AUDIO_PREFIX):
                if audio.removeprefix(AUDIO_PREFIX) not in owners:
                    tx.delete(audio)
        return None

    def add(
        self,
        session: Session,
        index_record: bytes | None,
        *,
        replace: str | None = None,
        finishes: str | None = None,
        audio: bytes | Iterable[bytes] | None = None,
    ) -> SessionSummary | None:
        """Store a session (and its index record) atomically; optionally replacing another,
        finishing the pending record named `finishes` (a transcribed recording), or with the
        session's recording (`audio`, from a backup).

        Checked against the vault as it is now, not as it was when the caller started: if a
        session with the same content is already there (another import of the same file
        got there first), nothing is stored and that session is returned; else None."""
        with self.vault.transaction() as tx:
            catalog = self._read_catalog(tx)
            same = next(
                (s for s in catalog.values() if s.content_hash == session.content_hash), None
            )
            if same is not None:
                return same
            if replace is None and finishes is None and session.id in catalog:
                # Another writer took this id since it was chosen (or a backup brought it).
                session.id = self._free_id(catalog, tx)
                info = session.extra.get("recording")
                if isinstance(info, dict) and info.get("audio"):
                    info["audio"] = audio_name(session.id)
            if finishes is not None:
                if finishes not in tx:
                    raise RecordingError(
                        f"{session.source_file}: {_DISCARDED}, so it was not stored."
                    )
                tx.delete(finishes)
            if audio is not None:
                tx.put(audio_name(session.id), audio, purpose=PURPOSE_AUDIO)
            if replace is not None:
                replaced = catalog.pop(replace, None)
                tx.delete(session_name(replace))
                tx.delete(index_name(replace))
                tx.delete(recap_name(replace))
                if replaced is not None:
                    self._drop_marks(tx, replaced.content_hash)
                self._moments_follow(tx, replace, session)
            tx.put(session_name(session.id), encode_session(session), purpose=PURPOSE_SESSION)
            if index_record is not None:
                tx.put(index_name(session.id), index_record, purpose=PURPOSE_INDEX)
            catalog[session.id] = SessionSummary.of(session)
            self._write_catalog(tx, catalog.values())
        return None

    @staticmethod
    def _free_id(catalog: dict[str, SessionSummary], tx: Transaction) -> str:
        taken = set(catalog) | {
            PendingRecording.decode(tx.get(name)).session_id for name in tx.names(PENDING_PREFIX)
        }
        while True:
            candidate = secrets.token_hex(4)
            if candidate not in taken:
                return candidate

    def save_pending(self, pending: PendingRecording) -> PendingRecording:
        """Store a recording's progress, unless another import of it got as far or further
        (what it stored is then returned, to carry on from). RecordingError if the job was
        finished or discarded meanwhile."""
        with self.vault.transaction() as tx:
            stored = PendingRecording.decode(tx.get(pending.name)) if pending.name in tx else None
            if stored is None or stored.session_id != pending.session_id:
                raise RecordingError(f"{pending.source_file}: {_DISCARDED}.")
            if stored.done >= pending.done:
                return stored
            tx.put(pending.name, pending.encode(), purpose=PURPOSE_PENDING)
        return pending

    def start_pending(
        self, pending: PendingRecording, audio: Iterable[bytes] | None
    ) -> PendingRecording:
        """Store a recording's plan (and its sealed audio, when kept) at once. If another
        import of the same file started meanwhile, its job is returned to carry on with."""
        with self.vault.transaction() as tx:
            if pending.name in tx:
                return PendingRecording.decode(tx.get(pending.name))
            if audio is not None:
                tx.put(audio_name(pending.session_id), audio, purpose=PURPOSE_AUDIO)
            tx.put(pending.name, pending.encode(), purpose=PURPOSE_PENDING)
        return pending

    def open_audio(self, session: Session) -> BinaryIO:
        """The session's sealed recording as a seekable file that decrypts only what is read."""
        info = recording_info(session)
        name = info.get("audio") if info else None
        if not name or name not in self.vault:
            what = "was imported without its audio" if info else "is a transcript, not a recording"
            raise RecordingError(f"“{session.title}” {what}, so there is nothing to play.")
        return self.vault.open_stream(name)

    # ---- records as stored, for backups -----------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.vault

    def read_raw(self, name: str) -> bytes:
        """A record's bytes as stored (decrypted, not decoded). VaultCorrupted if damaged."""
        return self.vault.get(name)

    def open_raw(self, name: str) -> BinaryIO:
        """A large record (a recording) as a seekable file that decrypts only what is read."""
        return self.vault.open_stream(name)

    def put_index_record(self, session_id: str, record: bytes, *, made_from: Session) -> bool:
        """Store a record built outside the lock from `made_from`, unless the session has
        been removed or relabelled since (its own writer stored a fresh record then)."""
        with self.vault.transaction() as tx:
            current = self._read_session(tx, session_id)
            if current is None or not _same_words(current, made_from):
                return False
            tx.put(index_name(session_id), record, purpose=PURPOSE_INDEX)
        return True

    def edit(
        self,
        session_id: str,
        change: Callable[[Session], bool | None],
        *,
        index_record: bytes | None = None,
    ) -> Session | None:
        """Change a session as it is now in the vault, under the writer lock.

        `change` gets the stored session and changes it in place. It may return False to say
        the session is no longer what the caller prepared for (its turns changed meanwhile):
        nothing is written and None is returned, so the caller can prepare again. With
        `index_record`, the session's record is replaced in the same transaction.
        SessionNotFound if another writer removed the session."""
        with self.vault.transaction() as tx:
            session = self._read_session(tx, session_id)
            catalog = self._read_catalog(tx)
            if session is None or session_id not in catalog:
                raise SessionNotFound(REMOVED_MEANWHILE)
            if change(session) is False:
                return None
            tx.put(session_name(session.id), encode_session(session), purpose=PURPOSE_SESSION)
            if index_record is not None:
                tx.put(index_name(session.id), index_record, purpose=PURPOSE_INDEX)
            catalog[session.id] = SessionSummary.of(session)
            self._write_catalog(tx, catalog.values())
        return session

    @staticmethod
    def _read_session(tx: Transaction, session_id: str) -> Session | None:
        name = session_name(session_id)
        return decode_session(tx.get(name)) if name in tx else None

    def remove(self, session_id: str) -> None:
        with self.vault.transaction() as tx:
            catalog = self._read_catalog(tx)
            removed = catalog.pop(session_id, None)
            if removed is None:
                raise SessionNotFound(f"There is no session with id {session_id}.")
            for prefix in SESSION_RECORDS:
                for name in tx.names(f"{prefix}{session_id}"):
                    tx.delete(name)
            self._drop_marks(tx, removed.content_hash)
            self._write_catalog(tx, catalog.values())
            moments = self._read_moments(tx)
            if moments is not None and any(m.session_id == session_id for m in moments):
                self._write_moments(tx, [m for m in moments if m.session_id != session_id])

    # ---- saved moments (reflect.kept) ------------------------------------------------------

    def moments(self) -> list[KeptMoment]:
        """Every saved moment, the first kept first. VaultCorrupted if the record is damaged."""
        if MOMENTS not in self.vault:
            return []
        return in_order(decode_moments(self.vault.get(MOMENTS)))

    @staticmethod
    def _read_moments(tx: Transaction) -> list[KeptMoment] | None:
        """The stored moments; None when the record is damaged (a writer that only tidies
        them, removing a session, then leaves it as it is rather than failing)."""
        if MOMENTS not in tx:
            return []
        try:
            return decode_moments(tx.get(MOMENTS))
        except VaultCorrupted:
            return None

    @staticmethod
    def _write_moments(tx: Transaction, moments: list[KeptMoment]) -> None:
        if moments:
            tx.put(MOMENTS, encode_moments(in_order(moments)), purpose=PURPOSE_MOMENTS)
        else:
            tx.delete(MOMENTS)

    def _moments_follow(self, tx: Transaction, replaced: str, session: Session) -> None:
        moments = self._read_moments(tx)
        if moments and any(m.session_id == replaced for m in moments):
            self._write_moments(tx, follow_replacement(moments, replaced, session))

    def keep_moment(self, moment: KeptMoment) -> None:
        """Store a new moment, unless its session was removed meanwhile (SessionNotFound)."""
        with self.vault.transaction() as tx:
            if moment.session_id not in self._read_catalog(tx):
                raise SessionNotFound(REMOVED_MEANWHILE)
            moments = decode_moments(tx.get(MOMENTS)) if MOMENTS in tx else []
            self._write_moments(tx, [*moments, moment])

    def change_moments(
        self, change: Callable[[list[KeptMoment]], list[KeptMoment]]
    ) -> list[KeptMoment]:
        """Replace the moments with `change(moments as stored now)`, under the writer lock."""
        with self.vault.transaction() as tx:
            moments = in_order(decode_moments(tx.get(MOMENTS))) if MOMENTS in tx else []
            changed = change(moments)
            if changed != moments:
                self._write_moments(tx, changed)
        return in_order(changed)

    def merge_moments(self, moments: list[KeptMoment]) -> int:
        """Add moments (from a backup) not already here whose session is here; how many."""
        with self.vault.transaction() as tx:
            catalog = self._read_catalog(tx)
            ours = decode_moments(tx.get(MOMENTS)) if MOMENTS in tx else []
            known = {m.id for m in ours}
            new = [m for m in moments if m.id not in known and m.session_id in catalog]
            if new:
                self._write_moments(tx, ours + new)
        return len(new)

    def change_settings(self, change: Callable[[Settings], None]) -> Settings:
        """Change the settings as they are now in the vault, under the writer lock, so two
        writers changing different settings both keep their change."""
        with self.vault.transaction() as tx:
            damaged = False
            try:
                settings = decode_settings(tx.get(SETTINGS)) if SETTINGS in tx else Settings()
            except SettingsDamaged:
                # Written over: what this change sets is kept; the rest takes its defaults.
                settings, damaged = Settings(), True
            before = settings.to_dict()
            change(settings)
            if damaged or settings.to_dict() != before:
                tx.put(SETTINGS, encode_settings(settings), purpose=PURPOSE_SETTINGS)
        return settings

    # ---- recaps ------------------------------------------------------------------------------

    def recap(self, session_id: str) -> SealedRecap | None:
        """The session's sealed recap as stored (maybe stale: compare `made_from`), or None
        when there is none or it is unreadable (derived: the caller computes it again)."""
        name = recap_name(session_id)
        if name not in self.vault:
            return None
        try:
            return SealedRecap.decode(self.vault.get(name))
        except VaultCorrupted:
            return None

    def put_recap(self, session_id: str, recap: SealedRecap) -> bool:
        """Seal a recap computed outside the lock, unless the session was removed or changed
        since (`recap.made_from` no longer matches it): then False, nothing written."""
        with self.vault.transaction() as tx:
            current = self._read_session(tx, session_id)
            if current is None or recap_fingerprint(current) != recap.made_from:
                return False
            tx.put(recap_name(session_id), recap.encode(), purpose=PURPOSE_RECAP)
        return True

    # ---- agreement statuses ------------------------------------------------------------------

    def agreement_marks(self) -> dict[str, AgreementMark]:
        """What the user marked, by agreement id. VaultCorrupted (saying what to do) if the
        record is damaged: these are the user's choices, not something to rebuild."""
        if AGREEMENT_STATUS not in self.vault:
            return {}
        return decode_agreement_marks(self.vault.get(AGREEMENT_STATUS))

    def mark_agreement(self, agreement_id: str, mark: AgreementMark | None) -> None:
        """Store the user's mark (None: open again) on an agreement of the session whose
        content hash is `mark.session`. A damaged record is started afresh: its marks are
        lost already, and the user's new choice must not be. SessionNotFound if that
        session was removed meanwhile."""
        with self.vault.transaction() as tx:
            marks = self._read_marks(tx)
            if mark is None:
                if marks.pop(agreement_id, None) is None:
                    return
            else:
                hashes = {s.content_hash for s in self._read_catalog(tx).values()}
                if mark.session not in hashes:
                    raise SessionNotFound(REMOVED_MEANWHILE)
                marks[agreement_id] = mark
            self._write_marks(tx, marks)

    def merge_agreement_marks(self, theirs: dict[str, AgreementMark]) -> None:
        """Add marks from a backup for the sessions this vault holds; the vault's own marks
        win (the person may have changed their mind since the backup)."""
        with self.vault.transaction() as tx:
            marks = self._read_marks(tx)
            hashes = {s.content_hash for s in self._read_catalog(tx).values()}
            added = {
                key: mark
                for key, mark in theirs.items()
                if key not in marks and mark.session in hashes
            }
            if added:
                self._write_marks(tx, {**marks, **added})

    @staticmethod
    def _read_marks(tx: Transaction) -> dict[str, AgreementMark]:
        if AGREEMENT_STATUS not in tx:
            return {}
        try:
            return decode_agreement_marks(tx.get(AGREEMENT_STATUS))
        except VaultCorrupted:
            return {}  # started afresh by the writer (see mark_agreement)

    @staticmethod
    def _write_marks(tx: Transaction, marks: dict[str, AgreementMark]) -> None:
        tx.put(AGREEMENT_STATUS, encode_agreement_marks(marks), purpose=PURPOSE_AGREEMENT_STATUS)

    def _drop_marks(self, tx: Transaction, content_hash: str) -> None:
        """A removed or replaced session's marks go with it."""
        if AGREEMENT_STATUS not in tx:
            return
        marks = self._read_marks(tx)
        kept = {key: m for key, m in marks.items() if m.session != content_hash}
        if len(kept) != len(marks):
            self._write_marks(tx, kept)


def _same_words(a: Session, b: Session) -> bool:
    """Same text and turns (labels included): what a session's index record is made from."""
    return a.text == b.text and a.turns == b.turns
