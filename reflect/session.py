"""A session as reflect stores it: the canonical text plus turns that point into it.

The canonical text is the turns' texts joined by blank lines. Each turn keeps character
offsets into it, so any excerpt shown later is `session.text[a:b]`: cut from what was
stored, never re-typed or generated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reflect.transcript import Turn

TURN_SEPARATOR = "\n\n"

# What a stored record is. Notes and handouts are stored, chunked, indexed and searched as
# sessions are (reflect/documents.py), so every view cites them from the same stored text;
# the kind keeps them apart wherever a session is meant (`reflect sessions`, recaps,
# agreements) and says how a quote from one is cited (reflect/sources.py).
SESSION = "session"
NOTE = "note"  # the user's own note: one turn (a voice memo: one a paragraph), by the user
HANDOUT = "handout"  # a therapist's handout: one turn per page, no speaker
KINDS = (SESSION, NOTE, HANDOUT)


@dataclass(frozen=True, slots=True)
class StoredTurn:
    index: int
    speaker: str | None
    start: float | None
    end: float | None
    char_start: int
    char_end: int


@dataclass(slots=True)
class Session:
    id: str
    title: str
    date: dt.date
    date_source: str  # "option" | "filename" | "file" | "modified" | "user"
    source_file: str
    content_hash: str
    imported_at: str
    format: str
    text: str
    turns: list[StoredTurn]
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = SESSION

    def turn_text(self, turn: StoredTurn) -> str:
        return self.text[turn.char_start : turn.char_end]

    @property
    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.turns:
            if t.speaker:
                seen.setdefault(t.speaker, None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        # A session's record stays as it was before kinds existed; only others say theirs.
        kind = {} if self.kind == SESSION else {"kind": self.kind}
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date.isoformat(),
            "date_source": self.date_source,
            "source_file": self.source_file,
            "content_hash": self.content_hash,
            "imported_at": self.imported_at,
            "format": self.format,
            "text": self.text,
            "turns": [[t.speaker, t.start, t.end, t.char_start, t.char_end] for t in self.turns],
            "extra": self.extra,
            **kind,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        return cls(
            id=d["id"],
            title=d["title"],
            date=dt.date.fromisoformat(d["date"]),
            date_source=d["date_source"],
            source_file=d["source_file"],
            content_hash=d["content_hash"],
            imported_at=d["imported_at"],
            format=d["format"],
            text=d["text"],
            turns=[
                StoredTurn(i, sp, st, en, a, b) for i, (sp, st, en, a, b) in enumerate(d["turns"])
            ],
            extra=d.get("extra", {}),
            kind=d.get("kind", SESSION),
        )


def build_text(turns: Iterable[Turn]) -> tuple[str, list[StoredTurn]]:
    """Join turn texts into the canonical text and record where each one landed."""
    parts: list[str] = []
    stored: list[StoredTurn] = []
    pos = 0
    for i, turn in enumerate(turns):
        if parts:
            parts.append(TURN_SEPARATOR)
            pos += len(TURN_SEPARATOR)
        parts.append(turn.text)
        stored.append(StoredTurn(i, turn.speaker, turn.start, turn.end, pos, pos + len(turn.text)))
        pos += len(turn.text)
    return "".join(parts), stored
