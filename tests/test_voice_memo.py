"""A voice memo kept as a note (`reflect note --recording FILE`): transcribed here with the
sessions' speech model (the deterministic fake in these tests), the user's own words, dated,
searchable, playable from its sealed audio, and never written anywhere unencrypted.
Invented people and words throughout."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from reflect import crypto, recording, service
from reflect.cli import main
from reflect.errors import RecordingError
from reflect.recording import TranscriptionProgress
from reflect.records import audio_name
from reflect.service import Reflect
from reflect.testing import FakeTranscriber, store_of, vault_of
from tests.audio_fixtures import AUDIO
from tests.conftest import PASSPHRASE, grep_tree
from tests.test_documents import json_out

MEMO = "Lying awake again at three; bring the rota worry to Dr. Okafor on Thursday."
SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Dr. Okafor>How has the sleep been since we last met?

00:00:05.000 --> 00:00:12.000
<v Wren>Patchy. I was lying awake most nights, going over the work rota.
"""


def memo_words(start: float, end: float, channel: int | None) -> str:
    return MEMO


def memo_file(folder: Path, name: str = "memo.m4a") -> Path:
    target = folder / name
    shutil.copy(AUDIO / "first_turn.m4a", target)
    return target


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vault"
    Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params()).lock()
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    transcriber = FakeTranscriber(text_for=memo_words)
    monkeypatch.setattr(service, "_default_transcriber_factory", lambda folder: transcriber)
    source = tmp_path / "2026-03-05 sleep.vtt"
    source.write_text(SESSION)
    assert main(["import", "--me", "Wren", str(source)]) == 0
    return tmp_path


def test_a_voice_memo_becomes_a_note_in_the_users_voice(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memo = memo_file(cli)
    # No consent question and no flag for one: stdin is no terminal here, and a session's
    # recording would stop and ask for --consented.
    assert main(["note", "--recording", str(memo), "--date", "2026-03-12"]) == 0
    assert "sealed" in capsys.readouterr().err
    (note,) = json_out(capsys, ["notes", "--json"])  # type: ignore[misc]
    assert note["date"] == "2026-03-12" and note["source"] == "note"
    assert MEMO in note["text"]
    sessions = json_out(capsys, ["sessions", "--json"])
    assert [s["title"] for s in sessions] == ["Sleep"]  # type: ignore[union-attr]

    found = json_out(capsys, ["quotes", "bring the rota worry to Thursday", "--json", "--k", "3"])
    mine = [h for h in found["hits"] if h["source"] == "note"]  # type: ignore[index]
    assert mine and mine[0]["speaker"] == "Wren" and mine[0]["start"] is not None
    capsys.readouterr()
    assert main(["quotes", "bring the rota worry to Thursday", "--k", "3"]) == 0
    assert "your note, 12 March" in capsys.readouterr().out

    # The same file again is the same memo.
    assert main(["note", "--recording", str(memo)]) == 0
    assert "already in the vault as a note" in capsys.readouterr().err.replace("\n", " ")
    assert len(json_out(capsys, ["notes", "--json"])) == 1  # type: ignore[arg-type]

    with Reflect.unlock(cli / "vault", PASSPHRASE) as unlocked:
        stored = unlocked.documents.note("1")
        assert {t.speaker for t in stored.turns} == {"Wren"} and stored.kind == "note"
        assert stored.extra["recording"]["audio"] == audio_name(stored.id)
        memo.unlink()  # the vault's sealed copy is what plays
        samples, _rate = unlocked.recording_clip(stored.id, 0.0, 2.0)
        assert float(abs(samples).max()) > 0.05
        unlocked.documents.remove_note("1")
        assert not vault_of(unlocked).names("audio/")


def test_a_memo_is_dated_by_its_file(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    named = memo_file(cli, "2026-02-27 walk home.wav")
    shutil.copy(AUDIO / "first_turn.wav", named)
    unnamed = memo_file(cli, "thoughts.mp3")
    shutil.copy(AUDIO / "first_turn.mp3", unnamed)
    when = dt.datetime(2026, 1, 14, 21, 30).timestamp()
    os.utime(unnamed, (when, when))
    assert main(["note", "--recording", str(named)]) == 0
    assert main(["note", "--recording", str(unnamed)]) == 0
    notes = json_out(capsys, ["notes", "--json"])
    assert sorted(n["date"] for n in notes) == ["2026-01-14", "2026-02-27"]  # type: ignore[union-attr]
    with pytest.raises(SystemExit):
        main(["note", "--recording"])
    assert main(["note", "words too", "--recording", str(named)]) != 0


def test_a_memo_with_no_speech_leaves_nothing_behind(tmp_path: Path) -> None:
    silent = FakeTranscriber(text_for=lambda start, end, channel: " ")
    path = tmp_path / "vault"
    with Reflect.create(
        path, PASSPHRASE, kdf=crypto.floor_kdf_params(), transcriber_factory=lambda: silent
    ) as unlocked:
        with pytest.raises(RecordingError, match="no speech"):
            unlocked.documents.record_note(memo_file(tmp_path))
        assert unlocked.documents.notes() == []
        assert not store_of(unlocked).pending() and not vault_of(unlocked).names("audio/")
        empty = tmp_path / "empty.wav"
        empty.write_bytes(b"")
        with pytest.raises(RecordingError, match="empty"):
            unlocked.documents.record_note(empty)


def paused_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str = "long memo.ogg"
) -> tuple[Reflect, FakeTranscriber, Path]:
    """A vault holding a memo stopped after its first piece (as locking the vault does)."""
    monkeypatch.setattr(recording, "PIECE_SECONDS", 10.0)
    transcriber = FakeTranscriber(text_for=memo_words)
    long_memo = tmp_path / name
    shutil.copy(AUDIO / "session_mono.ogg", long_memo)
    unlocked = Reflect.create(
        tmp_path / "vault",
        PASSPHRASE,
        kdf=crypto.floor_kdf_params(),
        transcriber_factory=lambda: transcriber,
    )

    def stop_after_a_piece(progress: TranscriptionProgress) -> None:
        if progress.audio_done > 10.0:
            unlocked.cancel_import()  # what locking the vault does

    with pytest.raises(RecordingError, match="paused"):
        unlocked.documents.record_note(long_memo, on_progress=stop_after_a_piece)
    return unlocked, transcriber, long_memo


def test_a_paused_memo_carries_on_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlocked, transcriber, long_memo = paused_memo(tmp_path, monkeypatch)
    with unlocked:
        (pending,) = store_of(unlocked).pending()
        assert 0 < pending.done < len(pending.windows)
        done_before = len(transcriber.calls)
        stored = unlocked.documents.record_note(long_memo)
        assert not stored.duplicate and not store_of(unlocked).pending()
        # Carried on: the pieces already stored were not transcribed again.
        assert transcriber.calls[done_before].offset == pending.windows[pending.done][0] > 0
        assert len(unlocked.documents.notes()) == 1


def test_a_paused_memo_carried_on_by_an_import_is_still_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlocked, _transcriber, long_memo = paused_memo(tmp_path, monkeypatch, "2026-03-09 memo.ogg")
    with unlocked:
        (pending,) = store_of(unlocked).pending()
        assert pending.kind == "note" and not unlocked.asks_consent([long_memo])
        # `reflect import` (or the app's import) of the same file carries the memo on, with
        # no consent answer (a memo is the user's own voice), and finishes it as the note.
        report = unlocked.import_paths([long_memo])
        assert [r.status for r in report.results] == ["imported"]
        assert not store_of(unlocked).pending()
        assert unlocked.sessions() == []
        (note,) = unlocked.documents.notes()
        stored = unlocked.documents.read(note)
        assert stored.kind == "note" and stored.date == dt.date(2026, 3, 9)
        assert MEMO in stored.text and "consent" not in stored.extra


def test_a_paused_session_recording_is_not_finished_as_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "PIECE_SECONDS", 10.0)
    walk = tmp_path / "2026-03-09 session.ogg"
    shutil.copy(AUDIO / "session_mono.ogg", walk)
    with Reflect.create(
        tmp_path / "vault",
        PASSPHRASE,
        kdf=crypto.floor_kdf_params(),
        transcriber_factory=lambda: FakeTranscriber(text_for=memo_words),
    ) as unlocked:
        stop = unlocked.cancel_import
        report = unlocked.import_paths(
            [walk], progress=lambda p: p.recording and p.recording.audio_done > 10.0 and stop()
        )
        assert [r.status for r in report.results] == ["stopped"]
        with pytest.raises(RecordingError, match="begun as a session's recording"):
            unlocked.documents.record_note(walk)
        assert unlocked.documents.notes() == [] and store_of(unlocked).pending()
        assert [r.status for r in unlocked.import_paths([walk]).results] == ["imported"]
        assert len(unlocked.sessions()) == 1


def test_nothing_of_a_voice_memo_is_written_unencrypted(tmp_path: Path) -> None:
    transcriber = FakeTranscriber(text_for=memo_words)
    path = tmp_path / "vault"
    memo = memo_file(tmp_path)
    raw = memo.read_bytes()
    with Reflect.create(
        path, PASSPHRASE, kdf=crypto.floor_kdf_params(), transcriber_factory=lambda: transcriber
    ) as unlocked:
        unlocked.open_index(vector_store=False)
        stored = unlocked.documents.record_note(memo, day=dt.date(2026, 3, 12))
        assert not stored.duplicate
        assert unlocked.quotes("rota worry Thursday", k=1).hits[0].source == "note"
    needles = [
        MEMO.encode(),
        MEMO.encode("utf-16-le"),
        b"rota worry",
        raw[len(raw) // 2 : len(raw) // 2 + 64],  # any stretch of the audio itself
    ]
    assert grep_tree(path, needles) == []
