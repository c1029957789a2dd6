"""A conversation: the questions asked so far, so the next one can lean on them.

"did I keep it?" right after "what did we say about the sleep diary?" is about the sleep
diary; "when was that?" points at the moment the last answer cited. The conversation keeps
only what a follow-up needs (the question as read, the first cited moment), in memory, and
is forgotten when the user starts afresh or the vault locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reflect.agreements import proposed_things
from reflect.answer.question import AskedQuestion, PreviousTurn
from reflect.retrieval import Hit

__all__ = ["Conversation"]


@dataclass(slots=True)
class Conversation:
    turns: list[PreviousTurn] = field(default_factory=list)

    @property
    def last(self) -> PreviousTurn | None:
        return self.turns[-1] if self.turns else None

    def add(self, asked: AskedQuestion, cited: list[Hit]) -> None:
        first = cited[0] if cited else None
        plans = tuple(p for hit in cited for p in proposed_things(hit.chunk_text or hit.text))
        self.turns.append(
            PreviousTurn(
                asked,
                cited_session=first.session_id if first else None,
                cited_date=first.session_date if first else None,
                cited=first,
                plans=plans,
            )
        )

    def clear(self) -> None:
        self.turns.clear()
