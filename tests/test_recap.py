"""A session's key moments with the fake embedder: verbatim, both speakers, never filler,
spread over its topics, and the CLI's JSON."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from reflect.chunking import chunk_session, embedding_text
from reflect.cli import main
from reflect.recap import moment_count, recap_of, topics
from reflect.session import Session
from reflect.testing import FakeEmbedder
from tests.across_fixtures import SESSIONS, C, T, make_session
from tests.test_timeline import cli_vault  # noqa: F401  (the fixture)

FILLER = {"Mm-hmm.", "Yeah.", "Okay.", "Mm."}


def _session() -> Session:
    topics_said = [
        (C, "The bakery shifts start at five and the ovens are roaring before dawn, flour "
            "everywhere, the owner shouting about burnt croissants and the delivery van."),
        (T, "Mm-hmm."),
        (C, "Yeah."),
        (T, "The bakery sounds relentless. The ovens, the owner, the croissants, all before "
            "dawn."),
        (C, "My brother visited from Porto and we walked along the river, talked about our "
            "father, the harbour, the old boat we painted blue every summer."),
        (T, "Okay."),
        (T, "Your brother, the river, the boat. What was it like to talk about your father?"),
        (C, "The insomnia is the worst part, lying awake until three, staring at the ceiling, "
            "counting the hours before the alarm and the bakery again."),
        (T, "Mm."),
        (T, "Insomnia like that wears everything down. Lying awake, counting hours."),
    ]
    return make_session("r1", dt.date(2025, 3, 3), topics_said * 2)


def test_moments_are_verbatim_spread_and_never_filler() -> None:
    session = _session()
    chunks = chunk_session(session)
    embedder = FakeEmbedder()
    texts = [embedding_text(session, c, speaker_labels=True) for c in chunks]
    vectors = embedder.embed(texts)
    moments = recap_of(session, chunks, vectors)
    assert 3 <= len(moments) <= 6
    assert {m.speaker for m in moments} == {C, T}
    starts = [m.start for m in moments]
    assert starts == sorted(starts)  # in the order they were said
    for m in moments:
        assert m.text == session.text[m.char_start : m.char_end]
        assert m.text not in FILLER
        assert m.start is not None
    assert len({m.first_turn for m in moments}) == len(moments)


def test_topics_group_like_vectors_together() -> None:
    a, b, c = np.eye(3, dtype=np.float32)
    vectors = np.stack([a, a * 0.9 + b * 0.1, b, b * 0.95 + c * 0.05, c, c])
    groups = topics(vectors, 3)
    assert sorted(sorted(g) for g in groups) == [[0, 1], [2, 3], [4, 5]]
    assert topics(vectors[:0], 3) == []


def test_how_many_moments() -> None:
    assert [moment_count(n) for n in (0, 1, 2, 4, 8, 12, 40)] == [0, 1, 2, 3, 4, 6, 6]


def test_a_session_of_one_speaker_still_recaps() -> None:
    session = make_session("m", dt.date(2025, 3, 9), [(C, text) for _, text in [
        (C, "The bakery ovens roar before dawn and the owner shouts about croissants."),
        (C, "My brother visited from Porto and we walked along the river to the harbour."),
        (C, "The insomnia keeps me lying awake until three, counting the hours."),
    ]])
    chunks = chunk_session(session)
    vectors = FakeEmbedder().embed([session.text[c.char_start : c.char_end] for c in chunks])
    moments = recap_of(session, chunks, vectors)
    assert moments and {m.speaker for m in moments} == {C}
    assert recap_of(session, [], vectors[:0]) == []


@pytest.mark.usefixtures("cli_vault")
def test_cli_recap_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["recap", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"session_id", "session_date", "session_title", "moments"}
    assert data["session_date"] == "2025-02-03"
    texts = [m["text"] for m in data["moments"]]
    assert texts and all(t in SESSIONS[0].text for t in texts)
    assert not FILLER & set(texts)
    assert main(["recap", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 February 2025" in out
    assert all(len(line) <= 80 for line in out.splitlines())
