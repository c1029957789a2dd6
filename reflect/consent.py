"""Whether the therapist agreed to a session being recorded: asked when a recording is first
imported, stored (sealed) with the session, shown in its header.

Recording a session without the therapist's knowledge harms the trust the work rests on, and
in some places it is against the law. reflect never refuses a recording (it is the person's
choice and responsibility), but it never imports one silently either: the CLI and the app ask
once, in one sentence, and scripts say it with --consented or --no-consent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reflect.session import Session

AGREED = "yes"
NOT_AGREED = "no"
NOT_SURE = "not sure"
ANSWERS = (AGREED, NOT_AGREED, NOT_SURE)

QUESTION = (
    "Recording a therapy session needs your therapist's agreement. "
    "Did your therapist agree to this recording?"
)
SCRIPT_FLAGS = (
    "Importing a recording asks whether your therapist agreed to it; with no terminal to "
    "ask in, add --consented (they agreed) or --no-consent (they did not, or you are not "
    "sure). Nothing was imported."
)
WITH_AGREEMENT = "recorded with your therapist's agreement"
NOT_RECORDED = "agreement not recorded"

_SPOKEN = {
    "y": AGREED,
    "yes": AGREED,
    "n": NOT_AGREED,
    "no": NOT_AGREED,
    "s": NOT_SURE,
    "?": NOT_SURE,
    "not sure": NOT_SURE,
    "unsure": NOT_SURE,
    "don't know": NOT_SURE,
}


def understood(text: str) -> str | None:
    """An answer typed at the prompt ("y", "no", "not sure"...), or None if it isn't one."""
    return _SPOKEN.get(" ".join(text.strip().casefold().split()))


def stamp(session: Session, answer: str) -> None:
    """Store the answer with the session (in its sealed record)."""
    if answer not in ANSWERS:
        raise ValueError(f"not a consent answer: {answer!r}")
    session.extra["consent"] = {
        "answer": answer,
        "asked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def answer_of(session: Session) -> str | None:
    info: Any = session.extra.get("consent")
    answer = info.get("answer") if isinstance(info, dict) else None
    return answer if answer in ANSWERS else None


def header_note(session: Session) -> str | None:
    """What a recorded session's header says about agreement; None for a transcript."""
    if session.extra.get("recording") is None:
        return None
    return WITH_AGREEMENT if answer_of(session) == AGREED else NOT_RECORDED
