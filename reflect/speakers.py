"""Who is speaking: which label is the user, which is the therapist, which are placeholders
reflect made up for a voice, and how turns get their labels.

Search filters, answers and excerpts all ask these questions; answering them in one place
keeps the rule the same everywhere: reflect never guesses who the user is (only the user
says, with `reflect speakers --me LABEL`), and a placeholder is nobody until named.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reflect.errors import UsageError

if TYPE_CHECKING:
    from reflect.records import Settings
    from reflect.session import StoredTurn
    from reflect.store import SessionStore

# Labels for speakers told apart by stereo channel. Neutral on purpose: reflect does not know
# which channel is the client; `reflect speakers` renames them.
CHANNEL_LABELS = ("Speaker 1", "Speaker 2")
DEFAULT_ME_LABELS: tuple[str, ...] = ()
DEFAULT_THERAPIST_LABELS = ("therapist", "counsellor", "counselor", "clinician", "t")
_PLACEHOLDER = re.compile(r"speaker \d+", re.IGNORECASE)
_ME_WORDS = ("me", "i", "myself", "you")


def is_placeholder_label(label: str) -> bool:
    """A name reflect (or a transcription tool) made up for a voice: "Speaker 1"."""
    return bool(_PLACEHOLDER.fullmatch(label.strip()))


def therapist_labels(known: Sequence[str], me: Sequence[str]) -> list[str]:
    """Everyone who isn't the user, except placeholder names ("Speaker 2" from a
    recording's channels): nobody has said yet who those are, so reflect mustn't call
    them the therapist. Until the user has said which speaker they are, only a label
    that names the role ("Therapist") is known to be the therapist: any other might be
    the user themselves."""
    if not me:
        return [label for label in known if label.casefold() in DEFAULT_THERAPIST_LABELS]
    return [label for label in known if label not in me and not is_placeholder_label(label)]


def labels_for(who: str, me: Sequence[str], known: Sequence[str]) -> list[str]:
    """Labels for "me", "therapist" (everyone who isn't me) or a label, any case."""
    wanted = who.strip().casefold()
    if wanted in _ME_WORDS:
        if not me:
            raise UsageError(
                "reflect doesn't know which speaker is you yet. "
                "Tell it with `reflect speakers --me LABEL`."
            )
        return list(me)
    if wanted == "therapist":
        therapist = therapist_labels(known, me)
        if not therapist:
            raise UsageError(
                "reflect doesn't know which speaker is your therapist yet. "
                "Tell it which one is you with `reflect speakers --me LABEL`."
            )
        return therapist
    matches = [label for label in known if label.casefold() == wanted]
    if not matches:
        raise UsageError(
            f"No speaker is called {who!r}. Known speakers: {', '.join(known) or 'none'}."
        )
    return matches


def speaker_role(
    speaker: str | None,
    session_speakers: Sequence[str],
    me_labels: Sequence[str],
    therapist_labels: Sequence[str],
) -> str:
    """How an excerpt names a turn's speaker: "You", "Therapist", else their label."""
    if not speaker:
        return ""
    key = speaker.casefold()
    me = {label.casefold() for label in me_labels}
    if key in me:
        return "You"
    if key in {label.casefold() for label in therapist_labels}:
        return "Therapist"
    others = [s for s in session_speakers if s.casefold() != key]
    # Two people in the room and the other one is the user: this one is the therapist.
    if me and len(others) == 1 and others[0].casefold() in me:
        return "Therapist"
    return speaker


def set_me(store: SessionStore, label: str) -> None:
    """Remember that `label` is the user (they may have several: "Me", "Sam")."""

    def add_label(settings: Settings) -> None:
        if label not in settings.me:
            settings.me.append(label)

    store.change_settings(add_label)


def clean_label(label: str | None) -> str | None:
    """A label as given, spaces tidied; UsageError for an empty one. None stays None
    (removing a label)."""
    if label is None:
        return None
    label = " ".join(label.split())
    if not label:
        raise UsageError("A speaker's name can't be empty.")
    return label


def relabelled(
    turns: Sequence[StoredTurn],
    label: str | None,
    *,
    wanted: set[int] | None = None,
    start: float | None = None,
    end: float | None = None,
    rename: str | None = None,
) -> list[StoredTurn]:
    """`turns` with `label` given to the chosen ones: by number (1-based, `wanted`), by
    the time they start (`start` <= t < `end`), or by their current label (`rename`); with
    none of these, every unlabelled turn."""

    def chosen(turn: StoredTurn) -> bool:
        if wanted is not None and turn.index + 1 not in wanted:
            return False
        if rename is not None and turn.speaker != rename:
            return False
        if start is not None or end is not None:
            if turn.start is None:
                return False
            too_early = start is not None and turn.start < start
            too_late = end is not None and turn.start >= end
            if too_early or too_late:
                return False
        if wanted is None and rename is None and start is None and end is None:
            return turn.speaker is None
        return True

    return [
        dataclasses.replace(turn, speaker=label)
        if chosen(turn) and turn.speaker != label
        else turn
        for turn in turns
    ]
