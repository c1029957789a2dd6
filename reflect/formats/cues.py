"""What WebVTT and SubRip share once the cues are read: speakers from "Name:" labels in the
cue text, and consecutive cues of one speaker merged (Zoom splits sentences across cues)."""

from __future__ import annotations

from dataclasses import dataclass

from reflect.formats.labels import Candidate, accepted_labels, match_label
from reflect.formats.turns import build_turns
from reflect.transcript import Turn


@dataclass(frozen=True, slots=True)
class Cue:
    lines: list[str]  # text lines, tags already removed
    start: float | None
    end: float | None
    voice: str | None = None  # a WebVTT <v Name> speaker, which wins over a "Name:" label


def turns_from_cues(cues: list[Cue]) -> list[Turn]:
    """Turns from cues, with labels judged over the whole file as in plain text.

    A cue may hold several speakers ("Mara: Yes.\\nDr. Okafor: Go on."): each labelled line
    starts a new piece with the cue's times. A cue without any label has no speaker.
    """
    unvoiced_lines = [line.strip() for cue in cues if cue.voice is None for line in cue.lines]
    non_empty = sum(1 for line in unvoiced_lines if line)
    labels = (match_label(line) for line in unvoiced_lines)
    speakers = accepted_labels(
        (Candidate(label.label, bool(label.text)) for label in labels if label is not None),
        non_empty,
    )

    pieces: list[Turn] = []
    for cue in cues:
        if cue.voice is not None:
            pieces.append(Turn(cue.voice, " ".join(cue.lines), cue.start, cue.end))
            continue
        speaker: str | None = None
        texts: list[str] = []
        for raw_line in cue.lines:
            line = raw_line.strip()
            label = match_label(line)
            if label is not None and label.label in speakers:
                if texts:
                    pieces.append(Turn(speaker, " ".join(texts), cue.start, cue.end))
                speaker, texts = label.label, [label.text]
            else:
                texts.append(line)
        pieces.append(Turn(speaker, " ".join(texts), cue.start, cue.end))
    return build_turns(pieces, joiner=" ")
