"""Messages from the worker threads to the UI: small dataclasses, nothing else.

Workers never touch widgets; they post these. Bursts of progress, and an answer's text as it
grows, are coalesced (`can_replace`): only the newest of a run of pending messages is
handled, so a fast stream costs one repaint per refresh, not one per token. An answer's text
travels whole (everything so far), so dropping an older message never drops words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from reflect.agreements import Agreement
from reflect.answer import Answer
from reflect.excerpts import ExcerptLine
from reflect.ingest import ImportProgress, ImportReport
from reflect.kept import SavedMoment
from reflect.live_index import IndexProgress
from reflect.prep import Prep
from reflect.retrieval import Hit
from reflect.service import Reflect
from reflect.session import Session
from reflect.timeline import Timeline, TimelineSession
from reflect.tui.state import SessionCatalog


@dataclass(frozen=True, slots=True)
class Quote:
    """An excerpt as the UI shows it: the hit, who said which part, and its number if any."""

    hit: Hit
    lines: list[ExcerptLine]
    n: int | None = None


@dataclass
class IndexProgressed(Message):
    generation: int
    progress: IndexProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IndexProgressed)


@dataclass
class CatalogRead(Message):
    generation: int
    read: int  # which read this is; an older one finishing late is dropped
    catalog: SessionCatalog

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CatalogRead)


@dataclass
class IndexOpened(Message):
    generation: int


@dataclass
class ModelStateChanged(Message):
    generation: int
    state: str  # "loading" | "ready" | "unavailable"


@dataclass
class ImportProgressed(Message):
    generation: int
    progress: ImportProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ImportProgressed)


@dataclass
class ImportFinished(Message):
    generation: int
    report: ImportReport | None  # None when the import failed as a whole


@dataclass
class AnswerBegan(Message):
    """The excerpts are known (milliseconds); the model has not written anything yet."""

    exchange: int
    quotes: list[Quote]
    found: bool
    safety_message: str | None


@dataclass
class AnswerGrew(Message):
    exchange: int
    text: str  # the whole answer so far

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AnswerGrew) and message.exchange == self.exchange


@dataclass
class AnswerFinished(Message):
    exchange: int
    answer: Answer


@dataclass
class QuotesFound(Message):
    search: int  # which search this answers; older ones are discarded
    query: str
    quotes: list[Quote] = field(default_factory=list)
    understood: str = ""  # how the query was read, when it was read as more than its words
    deeper: bool = False  # the deeper search's order (the top ten read closely)


@dataclass
class DeeperProgressed(Message):
    """The deeper search has read `read` of the `of` moments it reads closely."""

    search: int
    read: int
    of: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DeeperProgressed)


@dataclass
class OpenQuote(Message):
    """Open the transcript reader at this quote."""

    quote: Quote


@dataclass
class OpenSession(Message):
    """Open the transcript reader at the top of a session."""

    session_id: str


@dataclass
class VaultOpened(Message):
    """The unlock or create worker opened the vault (None: the passphrase was wrong)."""

    service: Reflect | None


@dataclass
class DemoReady(Message):
    """The demo vault has been made; it can be unlocked."""


@dataclass
class SessionRead(Message):
    """The reader's worker decrypted the session to show."""

    session: Session


@dataclass
class RecapRead(Message):
    """The reader's recap worker found the session's key moments."""

    session_id: str
    moments: list[Quote]


@dataclass
class TimelineBuilt(Message):
    """The timeline worker's result, with each session's best excerpts as the list shows them
    (`quotes[i]` belongs to `timeline.sessions[i]`)."""

    build: int  # which build this answers; an older one finishing late is dropped
    timeline: Timeline
    quotes: list[list[Quote]]


@dataclass(frozen=True, slots=True)
class AgreedQuotes:
    """An agreement as the Agreements view shows it: its words, the reply, and later
    sessions' moments that talk about it, each read from the stored transcript."""

    agreement: Agreement
    words: Quote
    reply: Quote | None
    follow_ups: list[Quote]


@dataclass
class AgreementsFound(Message):
    agreements: list[AgreedQuotes]


@dataclass
class MomentsRead(Message):
    """The saved moments, each with its words as a quote (reflect.kept)."""

    read: int  # which read this is; an older one finishing late is dropped
    moments: list[tuple[SavedMoment, Quote]]


@dataclass
class AgreementMarked(Message):
    """The user's mark on an agreement is stored (sealed)."""

    agreement_id: str
    status: str


@dataclass(frozen=True, slots=True)
class ThemeQuotes:
    """A theme of the last few sessions as the Next session view shows it: its latest
    sessions (a bar each) and each one's best moment, read from the stored transcript."""

    topic: str
    count: int  # sessions where it came up, in all
    sessions: list[TimelineSession]
    best: list[Quote | None]


@dataclass
class PrepGathered(Message):
    """What to take to the next session (reflect/prep.py), each moment read for showing."""

    prep: Prep
    recap: list[Quote]
    agreements: list[AgreedQuotes]
    themes: list[ThemeQuotes]


@dataclass
class SessionMomentRead(Message):
    """The sessions sidebar's worker read a session's first key moment (None: it has none)."""

    session_id: str
    moment: Hit | None
