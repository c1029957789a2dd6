"""Recordings through the facade: import, resume after an interruption, play, label, back up.

Transcription is the deterministic fake here (each stretch of sound becomes the words of the
invented turn spoken there, from tests/fixtures/audio/expected.json); the real Whisper model
runs in test_recording_real.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto, recording
from reflect.audio import PlaybackError
from reflect.cli import main
from reflect.errors import UsageError
from reflect.ingest import ImportOptions, ImportProgress
from reflect.recording import RecordingError, TranscriptionProgress
from reflect.records import audio_name
from reflect.service import Reflect, SearchFilters
from reflect.session import Session
from reflect.testing import FakeTranscriber, store_of, vault_of
from tests.audio_fixtures import AUDIO, TURNS
from tests.conftest import PASSPHRASE, grep_tree


def spoken_text(start: float, end: float, channel: int | None) -> str:
    """The invented words said around [start, end): what a perfect transcriber returns."""
    best = max(TURNS, key=lambda t: min(end, t["end"]) - max(start, t["start"]))
    return best["text"]


def said(session: Session) -> list[str]:
    """The session's words turn by turn, with a turn the fake heard in two pieces (a pause
    inside it) counted once."""
    texts = [session.turn_text(t) for t in session.turns]
    return [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]


def fake() -> FakeTranscriber:
    return FakeTranscriber(text_for=spoken_text)


def new_service(tmp_path: Path, transcriber: FakeTranscriber | None = None) -> Reflect:
    used = transcriber or fake()
    service = Reflect.create(
        tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params(),
        transcriber_factory=lambda: used,
    )
    service.open_index()
    return service


def copy(name: str, tmp_path: Path, as_name: str | None = None) -> Path:
    target = tmp_path / "in" / (as_name or name)
    target.parent.mkdir(exist_ok=True)
    shutil.copy(AUDIO / name, target)
    return target


def test_mono_recording_becomes_a_searchable_session_with_times(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    path = copy("session_mono.ogg", tmp_path, "2025-03-04 evening walks.ogg")
    report = service.import_paths([path])
    (result,) = report.results
    assert result.status == "imported", result.reason
    session = service.session(result.session_id or "")
    assert session.format == "recording"
    assert session.title == "Evening walks" and session.date.isoformat() == "2025-03-04"
    # One speaker's voice can't be told from another's in a mono mix: turns are unlabelled.
    assert all(t.speaker is None for t in session.turns)
    assert said(session) == [t["text"] for t in TURNS]
    for expected in TURNS:
        first = next(t for t in session.turns if session.turn_text(t) == expected["text"])
        assert first.start == pytest.approx(expected["start"], abs=0.6)
    hit = service.quotes("walking the dog by the river", k=1).hits[0]
    assert "we walk by the river" in hit.text
    assert hit.start is not None and hit.end is not None and hit.start <= 28.0 < hit.end
    info = session.extra["recording"]
    assert info["audio"] == audio_name(session.id) and info["duration"] == pytest.approx(42.9, 0.1)
    assert not store_of(service).pending()


def test_stereo_recording_is_split_by_channel(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    result = service.import_paths([copy("session_stereo.opus", tmp_path)]).results[0]
    session = service.session(result.session_id or "")
    labels = {"Therapist": "Speaker 1", "Client": "Speaker 2"}  # left, right
    # A speaker's consecutive pieces are joined into one turn (the fake heard some turns in
    # two pieces, so their words appear twice in it).
    assert len(session.turns) == len(TURNS)
    for turn, expected in zip(session.turns, TURNS, strict=True):
        assert session.turn_text(turn).startswith(expected["text"])
        assert turn.speaker == labels[expected["speaker"]]
    assert session.extra["recording"]["separate_channels"] is True


def test_same_recording_twice_is_a_duplicate(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    path = copy("session_mono.ogg", tmp_path)
    first = service.import_paths([path]).results[0]
    again = service.import_paths([path]).results[0]
    assert again.status == "duplicate" and again.session_id == first.session_id
    assert len(service.sessions()) == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("corrupt.flac", "damaged"),
        ("truncated.ogg", "cut short"),
        ("not_audio.mp3", "not"),
        ("picture.ogg", "not"),
        ("empty.wav", "empty"),
    ],
)
def test_broken_recordings_are_refused_and_nothing_is_stored(
    tmp_path: Path, name: str, words: str
) -> None:
    service = new_service(tmp_path)
    before = vault_of(service).names()
    result = service.import_paths([copy(name, tmp_path)]).results[0]
    assert result.status == "failed"
    assert result.reason and words in result.reason.lower(), result.reason
    assert vault_of(service).names() == before
    assert not store_of(service).pending()


def test_interrupted_transcription_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "PIECE_SECONDS", 10.0)
    transcriber = fake()
    service = new_service(tmp_path, transcriber)
    path = copy("session_mono.ogg", tmp_path)
    seen: list[TranscriptionProgress] = []

    def progress(p: ImportProgress) -> None:
        if p.recording is not None:
            seen.append(p.recording)
            if p.recording.audio_done >= 20.0:
                service.cancel_import()  # like Ctrl-C in the app: stops between pieces

    report = service.import_paths([path], progress=progress)
    assert report.stopped and report.results[0].status == "stopped"
    (pending,) = store_of(service).pending()
    assert 0 < pending.done < len(pending.windows)
    assert service.status().unfinished_recordings[0].file == path.name
    assert not service.sessions()
    done_before = pending.audio_done
    assert seen[-1].realtime_factor and seen[-1].seconds_left is not None

    calls_before = len(transcriber.calls)
    result = service.import_paths([path]).results[0]
    assert result.status == "imported"
    resumed = transcriber.calls[calls_before:]
    assert min(c.offset for c in resumed) == pytest.approx(done_before)
    session = service.session(result.session_id or "")
    starts = [t.start for t in session.turns]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert said(session) == [t["text"] for t in TURNS]
    assert not store_of(service).pending()


KILLED_IMPORT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reflect import recording
    from reflect.testing import FakeTranscriber
    from reflect.service import Reflect
    from tests.test_recording import spoken_text

    recording.PIECE_SECONDS = 10.0

    class Slow(FakeTranscriber):
        def transcribe(self, samples, **kw):
            time.sleep(0.4)
            return super().transcribe(samples, **kw)

    service = Reflect.unlock(Path(sys.argv[1]), sys.argv[2],
                             transcriber_factory=lambda: Slow(text_for=spoken_text))
    service.import_paths([Path(sys.argv[3])])
    """
)


def test_sigkill_during_transcription_resumes_without_duplicates(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    service.lock()
    path = copy("session_mono.ogg", tmp_path)
    vault_dir = tmp_path / "vault"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, str(vault_dir), PASSPHRASE, str(path)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            probe = Reflect.unlock(vault_dir, PASSPHRASE)
            pending = store_of(probe).pending()
            probe.lock()
            if pending and pending[0].done >= 2:
                break
            assert child.poll() is None, "the import finished before it could be interrupted"
            time.sleep(0.1)
        else:
            pytest.fail("the child never committed two pieces")
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    service = Reflect.unlock(vault_dir, PASSPHRASE, transcriber_factory=fake)
    service.open_index()
    (pending_after_kill,) = store_of(service).pending()
    assert pending_after_kill.done >= 2
    result = service.import_paths([path]).results[0]
    assert result.status == "imported"
    session = service.session(result.session_id or "")
    assert said(session) == [t["text"] for t in TURNS]
    starts = [t.start for t in session.turns]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert not store_of(service).pending()


def test_discarding_an_unfinished_transcription_forgets_its_audio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "PIECE_SECONDS", 10.0)
    service = new_service(tmp_path)
    path = copy("session_mono.ogg", tmp_path)
    service.import_paths([path], progress=lambda p: service.cancel_import())
    (pending,) = store_of(service).pending()
    assert audio_name(pending.session_id) in vault_of(service)
    service.discard_pending(pending.content_hash)
    assert not store_of(service).pending()
    assert not vault_of(service).names("audio/")


def test_play_clip_decodes_only_from_the_sealed_copy(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    path = copy("session_mono.ogg", tmp_path)
    session_id = service.import_paths([path]).results[0].session_id or ""
    path.unlink()  # the user's own file is gone: the vault's copy is what plays
    samples, rate = service.recording_clip(session_id, 28.0, 5.0)
    assert samples.shape[1] == pytest.approx(5.0 * rate, abs=rate * 0.05)
    assert float(abs(samples).max()) > 0.05  # speech, not silence
    with pytest.raises(UsageError, match="nothing at"):
        service.recording_clip(session_id, 3600.0, 5.0)


def test_without_keeping_audio_there_is_nothing_to_play(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    result = service.import_paths(
        [copy("session_mono.ogg", tmp_path)], ImportOptions(keep_audio=False)
    ).results[0]
    assert not vault_of(service).names("audio/")
    with pytest.raises(RecordingError, match="without its audio"):
        service.recording_clip(result.session_id or "", 1.0, 2.0)


def test_remove_takes_the_audio_too(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    session_id = service.import_paths([copy("session_mono.ogg", tmp_path)]).results[0].session_id
    assert vault_of(service).names("audio/")
    service.remove(session_id or "")
    assert not vault_of(service).names("audio/")


def test_backup_and_restore_carry_the_recording(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    session_id = service.import_paths([copy("session_mono.ogg", tmp_path)]).results[0].session_id
    original, rate = service.recording_clip(session_id or "", 10.0, 3.0)
    service.backup(tmp_path / "backup.rfl", "another long passphrase")
    other = Reflect.create(tmp_path / "other", PASSPHRASE, kdf=crypto.floor_kdf_params())
    other.restore(tmp_path / "backup.rfl", "another long passphrase")
    (restored,) = other.sessions()
    again, rate_again = other.recording_clip(restored.id, 10.0, 3.0)
    assert rate_again == rate and (again == original).all()


def test_speakers_can_be_named_by_turn_and_by_time(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    session_id = service.import_paths([copy("session_mono.ogg", tmp_path)]).results[0].session_id
    sid = session_id or ""
    before = service.session(sid)
    client_turns = [
        t.index + 1
        for t in before.turns
        if any(abs(t.start - e["start"]) < 0.6 for e in TURNS if e["speaker"] == "Client")
        or any(e["start"] < t.start < e["end"] for e in TURNS if e["speaker"] == "Client")
    ]
    _, changed = service.label_speakers(sid, "Sam", turns=client_turns)
    assert changed == len(client_turns) >= 4
    in_first_minute_half = [t for t in before.turns if 0 <= (t.start or 0) < 30]
    session, changed = service.label_speakers(sid, "Dr. Rivera", start=0.0, end=30.0)
    # A time range relabels every turn starting in it, named or not.
    assert changed == len(in_first_minute_half)
    session, changed = service.label_speakers(sid, "Dr. Rivera")  # every unlabelled turn
    session, changed = service.label_speakers(sid, "Sam", turns=client_turns)
    expected = ["Sam" if t.index + 1 in client_turns else "Dr. Rivera" for t in session.turns]
    assert [t.speaker for t in session.turns] == expected
    service.set_me("Sam")
    hits = service.quotes("cup of tea", filters=SearchFilters(speaker="me")).hits
    assert hits and hits[0].speaker == "Sam" and "cup of tea" in hits[0].text
    session, changed = service.label_speakers(sid, "Dr. Ana Rivera", rename="Dr. Rivera")
    assert changed == expected.count("Dr. Rivera") and "Dr. Ana Rivera" in session.speakers
    with pytest.raises(UsageError, match="no turn 99"):
        service.label_speakers(sid, "X", turns=[99])


def test_nothing_of_a_recording_is_written_unencrypted(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    path = copy("session_mono.ogg", tmp_path)
    raw = path.read_bytes()
    service.import_paths([path])
    service.lock()
    needles = [
        b"we walk by the river after dinner",
        "we walk by the river after dinner".encode("utf-16-le"),
        raw[len(raw) // 2 : len(raw) // 2 + 64],  # any stretch of the audio itself
    ]
    assert grep_tree(tmp_path / "vault", needles) == []


def test_cli_clip_writes_the_stretch_and_play_explains_a_missing_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = new_service(tmp_path)
    session_id = service.import_paths([copy("session_mono.ogg", tmp_path)]).results[0].session_id
    service.lock()
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE)
    monkeypatch.setenv("REFLECT_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("REFLECT_PASSPHRASE_FILE", str(pass_file))
    out = tmp_path / "moment.wav"
    sid = session_id or ""
    assert main(["clip", sid, "--at", "0:28", "--seconds", "4", "-o", str(out)]) == 0
    assert "not encrypted" in capsys.readouterr().err
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(4.0, abs=0.1)

    def no_device(*_: object, **__: object) -> None:
        raise PlaybackError("No sound output device could be used (none found).")

    monkeypatch.setattr("reflect.audio.play", no_device)
    assert main(["play", sid, "--at", "0:28", "--seconds", "1"]) == 1
    err = capsys.readouterr().err
    assert "sound output device" in err and "Traceback" not in err
    assert main(["play", sid, "--at", "twelve"]) != 0
    assert "not a time" in capsys.readouterr().err


def test_locking_stops_a_transcription_within_a_segment(tmp_path: Path) -> None:
    import threading

    class Slow(FakeTranscriber):
        def transcribe(self, samples: Any, **kwargs: Any) -> Any:
            progress = kwargs.get("on_progress")
            for step in range(200):  # a long piece, reporting as Whisper does per segment
                time.sleep(0.02)
                if progress is not None:
                    progress(kwargs.get("offset", 0.0) + step * 0.1)
            return super().transcribe(samples, **kwargs)

    service = new_service(tmp_path, Slow(text_for=spoken_text))
    path = copy("session_mono.ogg", tmp_path)
    started = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        def progress(p: ImportProgress) -> None:
            if p.recording is not None:  # transcribing: planned and stored, pieces under way
                started.set()

        outcome.append(service.import_paths([path], progress=progress))

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(30)
    time.sleep(0.2)
    began = time.monotonic()
    service.lock()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - began < 2.0
    assert outcome and outcome[0].results[0].status == "stopped"
    again = Reflect.unlock(tmp_path / "vault", PASSPHRASE, transcriber_factory=fake)
    (pending,) = store_of(again).pending()
    assert pending.done == 0  # the piece in flight was dropped whole, not half-stored


def test_channel_placeholders_are_never_taken_for_the_therapist(tmp_path: Path) -> None:
    service = new_service(tmp_path)
    typed = tmp_path / "2025-02-01 typed.txt"
    typed.write_text("[00:00:01] Dr. Rivera: How was the week?\n[00:00:05] Sam: Calmer.\n")
    service.import_paths([typed], ImportOptions(me="Sam"))
    service.import_paths([copy("session_stereo.opus", tmp_path)])
    assert service.speaker_labels("therapist") == ["Dr. Rivera"]
    # Once the user says which voice is theirs, the other one in that room is the therapist.
    session_id = next(s.id for s in service.sessions() if s.format == "recording")
    service.label_speakers(session_id, "Sam", rename="Speaker 2")
    from reflect.answer import speaker_role

    session = service.session(session_id)
    assert speaker_role("Speaker 1", session.speakers, ["Sam"], ["Dr. Rivera"]) == "Therapist"


def test_a_recording_with_no_speech_leaves_nothing_behind(tmp_path: Path) -> None:
    import numpy as np

    from reflect.audio import wav_bytes

    service = new_service(tmp_path)
    silent = tmp_path / "2025-06-01 hum.wav"
    silent.write_bytes(wav_bytes(np.zeros((1, 16_000 * 20), dtype=np.float32)))
    before = vault_of(service).names()
    result = service.import_paths([silent]).results[0]
    assert result.status == "failed" and "no speech" in (result.reason or "")
    # Neither its audio nor an unfinished job that could never finish is kept.
    assert vault_of(service).names() == before and not store_of(service).pending()
