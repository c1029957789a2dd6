"""A recording imported end to end with the real bundled Whisper and embedding models.

The invented two-voice session (tests/fixtures/audio, one voice per stereo channel) goes
through `reflect import` as a person would run it, under a socket guard: transcribed on this
machine, labelled by channel, indexed, and found again by a question about what was said.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto
from reflect.service import Reflect, SearchFilters
from tests.audio_fixtures import AUDIO, TURNS
from tests.conftest import PASSPHRASE


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.slow
def test_real_recording_import_is_found_by_a_question(
    tmp_path: Path, no_network: list[str]
) -> None:
    from reflect.asr import WhisperTranscriber
    from reflect.embedding import default_embedder

    whisper = WhisperTranscriber()  # the bundled default
    service = Reflect.create(
        tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params(),
        embedder_factory=default_embedder, transcriber_factory=lambda: whisper,
    )
    service.open_index()
    result = service.import_paths([AUDIO / "session_stereo.opus"]).results[0]
    assert result.status == "imported", result.reason
    session = service.session(result.session_id or "")

    # Each invented turn comes back on its speaker's channel, starting within a second.
    labels = {"Therapist": "Speaker 1", "Client": "Speaker 2"}
    for expected in TURNS:
        turn = min(session.turns, key=lambda t: abs((t.start or 0.0) - expected["start"]))
        assert turn.start == pytest.approx(expected["start"], abs=1.0), expected["text"]
        assert turn.speaker == labels[expected["speaker"]], expected["text"]
    words = session.text.lower()
    # ("four in the morning" comes back as "4 in the morning": numbers are written as digits.)
    for word in ("sleeping", "in the morning", "worry about work", "river", "dog", "emails"):
        assert word in words, word

    service.set_me("Speaker 2")
    hit = service.quotes(
        "where do I walk the dog after dinner", k=1, filters=SearchFilters(speaker="me")
    ).hits[0]
    assert "river" in hit.text.lower() and hit.speaker == "Speaker 2"
    assert hit.start == pytest.approx(28.0, abs=1.0)
    samples, rate = service.recording_clip(session.id, hit.start or 0.0, 3.0)
    assert samples.shape[1] == pytest.approx(3 * rate, rel=0.02)
    assert no_network == []
