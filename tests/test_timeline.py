"""The timeline of a theme, with the fake embedder: which sessions count, in what order, what
is quoted, and the CLI's shapes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflect.chunking import chunk_session
from reflect.cli import main
from reflect.index import ChunkMatch, Filters, SearchIndex
from reflect.retrieval import Retriever
from reflect.testing import FakeEmbedder
from reflect.timeline import (
    ChunkEvidence,
    TimelineThresholds,
    bar,
    build_timeline,
    mentioning_chunks,
    word_shares,
)
from tests.across_fixtures import SESSIONS, indexed


@pytest.fixture
def searched() -> Iterator[tuple[SearchIndex, Retriever]]:
    index, retriever = indexed(FakeEmbedder())
    yield index, retriever
    index.close()


def test_sessions_oldest_first_counted_once_with_verbatim_hits(
    searched: tuple[SearchIndex, Retriever],
) -> None:
    index, retriever = searched
    timeline = build_timeline("insomnia", index, retriever)
    assert [s.session_id for s in timeline.sessions] == ["s1", "s3"]
    assert timeline.count == 2
    assert timeline.first is not None and timeline.first.session_id == "s1"
    assert timeline.last is not None and timeline.last.session_date == dt.date(2025, 2, 17)
    by_id = {s.id: s for s in SESSIONS}
    for entry in timeline.sessions:
        assert entry.mentions >= 1
        assert 1 <= len(entry.hits) <= 2
        for hit in entry.hits:
            assert hit.session_id == entry.session_id
            assert hit.text == by_id[hit.session_id].text[hit.char_start : hit.char_end]
            assert "insomnia" in hit.text.casefold()


def test_a_theme_nobody_mentioned_has_no_sessions(searched: tuple[SearchIndex, Retriever]) -> None:
    index, retriever = searched
    assert build_timeline("xylophone", index, retriever).sessions == []
    assert build_timeline("   ", index, retriever).sessions == []


def test_filters_limit_the_sessions(searched: tuple[SearchIndex, Retriever]) -> None:
    index, retriever = searched
    later = build_timeline("insomnia", index, retriever, filters=Filters(since=dt.date(2025, 2, 5)))
    assert [s.session_id for s in later.sessions] == ["s3"]


def test_words_only_while_meaning_is_loading(searched: tuple[SearchIndex, Retriever]) -> None:
    index, _ = searched
    timeline = build_timeline("bakery", index, Retriever(index, None))
    assert not timeline.by_meaning
    assert [s.session_id for s in timeline.sessions] == ["s1"]


def test_rare_words_weigh_more_than_common_ones() -> None:
    texts = {("a", 0): "my heart raced", ("a", 1): "the worry again", ("a", 2): "worry worry"}
    shares = word_shares({"heart", "worry"}, texts, {"heart": 1, "worry": 50}, 100)
    assert shares[("a", 0)] > 0.5 > shares[("a", 1)] > 0
    assert word_shares(set(), texts, {}, 100) == dict.fromkeys(texts, 0.0)


def _evidence(similarity: float | None, share: float, index: int) -> ChunkEvidence:
    session = SESSIONS[0]
    chunk = chunk_session(session)[0]
    return ChunkEvidence(
        ChunkMatch(session, dataclasses.replace(chunk, index=index), 0.0), similarity, share
    )


def test_meaning_must_be_close_absolutely_and_relative_to_the_best() -> None:
    thresholds = TimelineThresholds(word_share=0.5, relative=0.6, similarity=0.3)
    evidence = [
        _evidence(0.50, 0.0, 0),  # the best
        _evidence(0.32, 0.0, 1),  # above 0.3 and 64% of the best
        _evidence(0.29, 0.0, 2),  # 58% of the best
        _evidence(None, 0.6, 3),  # by words alone
        _evidence(0.10, 0.4, 4),  # neither
    ]
    chosen = {e.match.chunk.index for e in mentioning_chunks(evidence, thresholds)}
    assert chosen == {0, 1, 3}
    # Where every chunk is far (a theme never discussed), none passes the absolute floor.
    assert mentioning_chunks([_evidence(0.2, 0.0, 0), _evidence(0.19, 0.0, 1)], thresholds) == []


def test_bar_is_proportional_in_eighths() -> None:
    assert bar(0, 5, 20) == ""
    assert bar(5, 5, 20) == "█" * 20
    assert bar(1, 2, 4) == "██"
    assert bar(1, 100, 4) == "▏"  # never invisible when there was a mention
    assert len(bar(3, 7, 20)) == 9


@pytest.fixture
def cli_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_vault: Path) -> Path:
    folder = tmp_path / "sessions"
    folder.mkdir()
    for session in SESSIONS:
        lines = [
            f"[00:00:{int(t.start or 0) % 60:02d}] {t.speaker}: {session.turn_text(t)}"
            for t in session.turns
        ]
        (folder / f"{session.date} {session.id}.txt").write_text("\n".join(lines) + "\n")
    assert main(["import", "--me", "Mirela", str(folder)]) == 0
    return env_vault


def test_cli_timeline_json_and_text(cli_vault: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["timeline", "insomnia", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["topic"] == "insomnia"
    assert [s["session_date"] for s in data["sessions"]] == ["2025-02-03", "2025-02-17"]
    first = data["sessions"][0]
    assert set(first) == {
        "session_id", "session_date", "session_title", "source", "mentions", "hits"
    }
    hit_fields = {"rank", "score", "session_id", "speaker", "start", "end", "text"}
    assert hit_fields <= set(first["hits"][0])
    assert main(["timeline", "insomnia"]) == 0
    text = capsys.readouterr().out
    assert "came up in 2 of your 3 sessions" in text
    assert "█" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert main(["timeline", "xylophone"]) == 0
    assert "didn't come up" in capsys.readouterr().out
