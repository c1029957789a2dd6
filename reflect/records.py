"""The vault's object layout: the name of every record reflect stores, and its encoding.

Vault names:
    catalog              summary of every session (what `reflect sessions` lists)
    settings             the user's choices (their own speaker label, model...)
    session/<id>         one session: canonical text, turns, offsets
    index/<id>           that session's chunks and embeddings (encoded by reflect.index_record)
    audio/<id>           a session's original recording, when it was imported from one
    pending/<hash>       a recording being transcribed: its plan and the pieces done so far
    recap/<id>           a session's key moments (their offsets), sealed at import
    agreement-status     what the user marked done or not for them, by agreement id
    moments              the moments the person kept, across sessions (reflect.kept)

Which objects exist in an encrypted vault is part of its security boundary, so this module
is the one place that names them, and `reflect.store.SessionStore` is the one place that reads
and writes them (tests/test_architecture.py checks that nothing else opens a transaction).
Nothing here touches the vault: it only names records and turns them into bytes and back.

A new kind of record: its name (or prefix) and encode/decode here; its reads and writes as
`SessionStore` methods; if it belongs to a session, its prefix in `SESSION_RECORDS` (removing
the session removes it) and a line in reflect.backup so a backup carries it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from reflect import schema
from reflect.errors import (
    CatalogDamaged,
    PendingDamaged,
    RecordingError,
    SessionDamaged,
    SettingsDamaged,
    VaultCorrupted,
)
from reflect.kept import KeptMoment, damaged, from_record, to_record
from reflect.session import KINDS, Session
from reflect.session import SESSION as SESSION_KIND

CATALOG = "catalog"
SETTINGS = "settings"
SESSION_PREFIX = "session/"
INDEX_PREFIX = "index/"
AUDIO_PREFIX = "audio/"
PENDING_PREFIX = "pending/"
RECAP_PREFIX = "recap/"
AGREEMENT_STATUS = "agreement-status"
# One record for every saved moment, so `reflect moments` numbers them in one read; the
# store drops a session's moments when it removes the session (and re-anchors them when a
# re-import replaces it), and a backup carries the record after the sessions.
MOMENTS = "moments"
# A session's own records: removed with it.
SESSION_RECORDS = (SESSION_PREFIX, INDEX_PREFIX, AUDIO_PREFIX, RECAP_PREFIX)

# Bound into each sealed object (reflect.crypto), so one kind of record can't be passed off
# as another.
PURPOSE_CATALOG = "catalog"
PURPOSE_SETTINGS = "settings"
PURPOSE_SESSION = "session"
PURPOSE_INDEX = "index"
PURPOSE_AUDIO = "audio"
PURPOSE_PENDING = "pending"
PURPOSE_RECAP = "recap"
PURPOSE_AGREEMENT_STATUS = "agreement-status"
PURPOSE_MOMENTS = "moments"

PENDING_VERSION = 1
# A segment's channel indexes reflect.speakers.CHANNEL_LABELS (left, right); not imported
# from there, which would make a cycle (tests/test_damaged_records.py checks they agree).
MAX_CHANNEL = 1


def session_name(session_id: str) -> str:
    return SESSION_PREFIX + session_id


def index_name(session_id: str) -> str:
    return INDEX_PREFIX + session_id


def audio_name(session_id: str) -> str:
    return AUDIO_PREFIX + session_id


def pending_name(content_hash: str) -> str:
    return PENDING_PREFIX + content_hash


def recap_name(session_id: str) -> str:
    return RECAP_PREFIX + session_id


def _load_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))


# Every record is checked field by field (reflect.schema) before any of it is used: a sealed
# record authenticates, but a bug, another tool or a hand could still have sealed nonsense,
# and that must read as "damaged", never as a traceback. Each decoder raises its own
# RecordDamaged (reflect.errors), one per kind of record.


def _dump_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---- catalog ------------------------------------------------------------------------------


@dataclass(slots=True)
class SessionSummary:
    id: str
    title: str
    date: str  # YYYY-MM-DD
    date_source: str
    source_file: str
    speakers: list[str]
    turns: int
    content_hash: str
    imported_at: str
    format: str
    kind: str = "session"  # or "note", "handout" (reflect.session.KINDS); old catalogs: sessions

    @classmethod
    def of(cls, s: Session) -> SessionSummary:
        return cls(
            s.id,
            s.title,
            s.date.isoformat(),
            s.date_source,
            s.source_file,
            s.speakers,
            len(s.turns),
            s.content_hash,
            s.imported_at,
            s.format,
            s.kind,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.date)


def encode_catalog(summaries: list[SessionSummary]) -> bytes:
    return _dump_json([s.to_dict() for s in summaries])


def _is_kind(value: Any) -> bool:
    return value in KINDS


_SUMMARY_SCHEMA = {
    "id": str,
    "title": str,
    "date": schema.iso_date,
    "date_source": str,
    "source_file": str,
    "speakers": schema.list_of(str),
    "turns": schema.natural,
    "content_hash": str,
    "imported_at": str,
    "format": str,
    # Catalogs written before notes and handouts existed hold sessions only, with no kind.
    "kind": schema.optional(_is_kind),
}
_SUMMARY_FIELDS = tuple(SessionSummary.__dataclass_fields__)


def decode_catalog(data: bytes) -> list[SessionSummary]:
    rows = schema.load(data, schema.list_of(_SUMMARY_SCHEMA), CatalogDamaged)
    for row in rows:
        row["kind"] = row.get("kind") or SESSION_KIND
    return [SessionSummary(*(row[name] for name in _SUMMARY_FIELDS)) for row in rows]


# ---- settings -----------------------------------------------------------------------------


@dataclass(slots=True)
class Settings:
    me: list[str] = field(default_factory=list)
    model: str | None = None
    embedding_model: str | None = None
    asr_model: str | None = None  # a faster-whisper model folder; None: the bundled one
    crisis_region: str | None = None
    idle_lock_minutes: int = 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# A setting missing takes its default (an older reflect didn't write it); one present must
# have the type reflect writes.
_SETTINGS_SCHEMA = {
    "me": schema.defaulted(schema.list_of(str)),
    "model": schema.optional(str),
    "embedding_model": schema.optional(str),
    "asr_model": schema.optional(str),
    "crisis_region": schema.optional(str),
    "idle_lock_minutes": schema.defaulted(schema.int_in(0, 1_000_000)),
}


def encode_settings(settings: Settings) -> bytes:
    return _dump_json(settings.to_dict())


def decode_settings(data: bytes) -> Settings:
    return Settings.from_dict(schema.load(data, _SETTINGS_SCHEMA, SettingsDamaged))


# ---- sessions -----------------------------------------------------------------------------


def encode_session(session: Session) -> bytes:
    return _dump_json(session.to_dict())


_RECORDING_INFO_SCHEMA = {
    "audio": schema.optional(str),
    "duration": schema.optional(float),
    "channels": schema.optional(schema.natural),
    "codec": schema.optional(str),
    "separate_channels": schema.optional(bool),
    "language": schema.optional(str),
    "asr_model": schema.optional(str),
}
_SESSION_SCHEMA = {
    "id": str,
    "title": str,
    "date": schema.iso_date,
    "date_source": str,
    "source_file": str,
    "content_hash": str,
    "imported_at": str,
    "format": str,
    "text": str,
    # speaker, start, end, char_start, char_end
    "turns": schema.list_of(
        schema.row(
            schema.optional(str),
            schema.optional(float),
            schema.optional(float),
            schema.natural,
            schema.natural,
        )
    ),
    "extra": schema.defaulted({"recording": schema.optional(_RECORDING_INFO_SCHEMA)}),
    "kind": schema.optional(_is_kind),  # absent on a session's record
}


def decode_session(data: bytes) -> Session:
    d = schema.load(data, _SESSION_SCHEMA, SessionDamaged)
    # Every quote is cut from the text at these offsets: they must lie inside it, in order.
    if not all(a <= b <= len(d["text"]) for *_, a, b in d["turns"]):
        raise SessionDamaged()
    return Session.from_dict(d)


def recording_info(session: Session) -> dict[str, Any] | None:
    """What a session imported from a recording says about it (its audio's name included)."""
    info = session.extra.get("recording")
    return info if isinstance(info, dict) else None


# ---- saved moments ------------------------------------------------------------------------


def encode_moments(moments: list[KeptMoment]) -> bytes:
    return _dump_json(to_record(moments))


def decode_moments(data: bytes) -> list[KeptMoment]:
    """Schema-checked (reflect.kept.RECORD_SPEC): VaultCorrupted, saying so, if damaged."""
    try:
        body = _load_json(data)
    except (ValueError, RecursionError):
        raise damaged() from None
    return from_record(body)


# ---- pending recordings -------------------------------------------------------------------


@dataclass(slots=True)
class PendingRecording:
    """What is stored between pieces: enough to resume without redoing any of them."""

    content_hash: str
    session_id: str
    source_file: str
    duration: float
    channels: int
    codec: str
    container: str
    separate_channels: bool
    windows: list[tuple[float, float]]
    language: str | None
    keep_audio: bool
    model: str
    started_at: str
    segments: list[list[Any]] = field(default_factory=list)  # [start, end, text, channel]
    done: int = 0  # windows finished
    # What it becomes when finished: a session, or a note (a voice memo, reflect/voice_memo.py),
    # whichever command carries it on. Absent in records written before memos: a session.
    kind: str = SESSION_KIND

    @property
    def name(self) -> str:
        return pending_name(self.content_hash)

    @property
    def audio_done(self) -> float:
        return self.windows[self.done - 1][1] if self.done else 0.0

    def encode(self) -> bytes:
        body = {"version": PENDING_VERSION, **_fields(self)}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> PendingRecording:
        body = schema.load(data, {"version": schema.optional(int)}, PendingDamaged)
        if body.get("version") != PENDING_VERSION:
            raise RecordingError(
                "An unfinished transcription was started by another version of reflect; "
                "remove it with `reflect import --discard-unfinished` and import again."
            )
        schema.require(body, _PENDING_SCHEMA, PendingDamaged)
        if body.get("done", 0) > len(body["windows"]):
            raise PendingDamaged()
        fields = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        fields["windows"] = [tuple(w) for w in body["windows"]]
        return cls(**fields)


_PENDING_SCHEMA = {
    "content_hash": str,
    "session_id": str,
    "source_file": str,
    "duration": float,
    "channels": schema.natural,
    "codec": str,
    "container": str,
    "separate_channels": bool,
    "windows": schema.list_of(schema.row(float, float)),
    "language": schema.optional(str),
    "keep_audio": bool,
    "model": str,
    "started_at": str,
    # start, end, text, channel (or null: unknown)
    "segments": schema.defaulted(
        schema.list_of(
            schema.row(
                float,
                float,
                str,
                schema.optional(schema.int_in(0, MAX_CHANNEL)),
            )
        )
    ),
    "done": schema.defaulted(schema.natural),
    "kind": schema.defaulted(lambda v: v in KINDS),
}


def _fields(p: PendingRecording) -> dict[str, Any]:
    return {name: getattr(p, name) for name in PendingRecording.__dataclass_fields__}


# ---- recaps -------------------------------------------------------------------------------

RECAP_VERSION = 1  # the record's layout; the method that chose the moments is `method`


@dataclass(frozen=True, slots=True)
class SealedRecap:
    """A session's key moments as offsets into its text, not as text: what is shown is cut
    from the stored transcript when it is read (reflect.recap.moments_at), so a recap can
    never quote words the session doesn't hold. `method` and `made_from` say what it was
    computed with and from: either differing from today's means it is computed again."""

    method: str
    made_from: str  # recap_fingerprint of the session
    spans: tuple[tuple[int, int], ...]

    def encode(self) -> bytes:
        return _dump_json(
            {
                "version": RECAP_VERSION,
                "method": self.method,
                "made_from": self.made_from,
                "spans": [list(span) for span in self.spans],
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> SealedRecap | None:
        """None when unreadable or from another layout: derived, so it is simply rebuilt."""
        try:
            body = _load_json(data)
        except (ValueError, RecursionError):
            return None
        spec = {
            "version": int,
            "method": str,
            "made_from": str,
            "spans": schema.list_of(schema.row(int, int)),
        }
        if not schema.matches(body, spec) or body["version"] != RECAP_VERSION:
            return None
        return cls(body["method"], body["made_from"], tuple((a, b) for a, b in body["spans"]))


def recap_fingerprint(session: Session) -> str:
    """What a recap depends on: the words, who said them, and the title and date it is shown
    with. A rename, redate, relabel or replace changes it (the id does not: a restored
    session keeps its recap under a new id)."""
    digest = hashlib.blake2b(digest_size=16)
    turns = [[t.speaker, t.start, t.end, t.char_start, t.char_end] for t in session.turns]
    digest.update(_dump_json([session.title, session.date.isoformat(), session.text, turns]))
    return digest.hexdigest()


# ---- agreement statuses -------------------------------------------------------------------

AGREEMENT_STATUS_VERSION = 1
# "open" is never stored: marking one open again removes its entry.
AGREEMENT_STATUSES = ("open", "done", "dropped")


@dataclass(frozen=True, slots=True)
class AgreementMark:
    """The user's mark on one agreement. `session` is its session's content hash, which a
    restore keeps (the id may change) and a replace changes (offsets then point elsewhere)."""

    status: str  # "done" | "dropped"
    session: str
    marked: str  # YYYY-MM-DD


def _is_mark_status(value: Any) -> bool:
    return value in AGREEMENT_STATUSES[1:]


_MARKS_SPEC = {
    "version": int,
    "marks": schema.dict_of({"status": _is_mark_status, "session": str, "marked": str}),
}


def encode_agreement_marks(marks: dict[str, AgreementMark]) -> bytes:
    return _dump_json(
        {
            "version": AGREEMENT_STATUS_VERSION,
            "marks": {key: asdict(mark) for key, mark in sorted(marks.items())},
        }
    )


def decode_agreement_marks(data: bytes) -> dict[str, AgreementMark]:
    """Checked before use: these are the user's own choices, so damage is said, not guessed."""

    def damaged() -> VaultCorrupted:
        return VaultCorrupted(
            "The record of the agreements you marked done or not for you is damaged. Restore "
            "it from a backup (`reflect restore FILE`), or mark an agreement again "
            "(`reflect agreements --done ID`) to start it afresh."
        )

    try:
        body = _load_json(data)
    except (ValueError, RecursionError):
        raise damaged() from None
    schema.require(body, _MARKS_SPEC, damaged)
    if body["version"] != AGREEMENT_STATUS_VERSION:
        raise damaged()
    return {
        key: AgreementMark(m["status"], m["session"], m["marked"])
        for key, m in body["marks"].items()
    }
