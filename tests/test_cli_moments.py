"""`reflect keep`, `reflect moments` and the consent question of `reflect import`, as a person
and a script use them. The sessions are invented."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reflect.cli import main
from reflect.service import Reflect
from reflect.testing import store_of
from tests.audio_fixtures import AUDIO
from tests.conftest import PASSPHRASE
from tests.conftest import cli_output as _out

SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Dr. Lindqvist>Before you go: what will you do if the panic comes back on the train?

00:00:05.000 --> 00:00:12.000
<v Ezra>Feet on the floor, name five things I can see, and breathe out longer than in.

00:00:12.500 --> 00:00:15.000
<v Dr. Lindqvist>Yes. And it passes. It always has.
"""


@pytest.fixture
def session_id(env_vault: Path, tmp_path: Path) -> str:
    source = tmp_path / "2025-02-20 train.vtt"
    source.write_text(SESSION)
    assert main(["import", "--me", "Ezra", str(source)]) == 0
    with Reflect.unlock(env_vault, PASSPHRASE) as service:
        return service.sessions()[0].id


def test_keep_list_relabel_and_remove(session_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = _out(capsys, ["keep", session_id, "--at", "0:06", "--label", "five things"])
    assert "Kept as moment 1" in err
    out, _ = _out(capsys, ["keep", session_id, "--at", "0:01", "--to", "0:13", "--json"])
    assert json.loads(out)["turns"] == [1, 3]
    out, _ = _out(capsys, ["moments"])
    assert "“five things”" in out and "Ezra" in out and "0:05" in out
    assert "Feet on the floor, name five things" in out
    out, _ = _out(capsys, ["moments", "--json"])
    first, second = json.loads(out)
    assert first["label"] == "five things" and first["speaker"] == "Ezra"
    assert first["session_date"] == "2025-02-20" and first["recording"] is False
    assert second["number"] == 2 and second["speaker"] is None
    _out(capsys, ["moments", "--relabel", "2", "the whole plan"])
    _, err = _out(capsys, ["moments", "--remove", "1"])
    assert "Removed moment 1" in err
    out, _ = _out(capsys, ["moments", "--json"])
    assert [(m["number"], m["label"]) for m in json.loads(out)] == [(1, "the whole plan")]
    # The session is untouched.
    out, _ = _out(capsys, ["sessions", "--json"])
    assert len(json.loads(out)) == 1


def test_mistakes_say_what_to_do(session_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = _out(capsys, ["keep", session_id], code=2)
    assert "--at" in err
    _, err = _out(capsys, ["moments", "--remove", "4"], code=2)
    assert "no saved moments yet" in err
    _, err = _out(capsys, ["moments", "play", "1"], code=2)
    assert "no saved moments yet" in err
    _out(capsys, ["keep", session_id, "--turn", "2"])
    _, err = _out(capsys, ["moments", "play", "1"], code=1)
    assert "is a transcript, not a recording" in err and "Traceback" not in err
    _, err = _out(capsys, ["moments", "stop"], code=2)
    assert "moments play N" in err


# ---- recordings: consent, and playing a moment ----------------------------------------------


def _recording(tmp_path: Path) -> Path:
    target = tmp_path / "in" / "2025-03-04 evening walks.ogg"
    target.parent.mkdir(exist_ok=True)
    shutil.copy(AUDIO / "session_mono.ogg", target)
    return target


def _no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def _at_a_terminal(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """Stdin a terminal where `answers` are typed in turn; the prompts typed at, as they come."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    typed = iter(answers)
    asked: list[str] = []

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return next(typed)

    monkeypatch.setattr("builtins.input", answer)
    return asked


def test_a_script_importing_a_recording_must_say_whether_the_therapist_agreed(
    env_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _no_terminal(monkeypatch)
    # Stops before any work (the vault is opened only to see that the recording is new).
    _, err = _out(capsys, ["import", str(_recording(tmp_path).parent)], code=2)
    assert "--consented" in err and "--no-consent" in err and "Nothing was imported" in err
    with Reflect.unlock(env_vault, PASSPHRASE) as service:
        assert service.sessions() == [] and store_of(service).pending() == []
    _out(capsys, ["import", "--no-consent", str(_recording(tmp_path))])
    out, _ = _out(capsys, ["show", "1"])
    assert "agreement not recorded" in out
    out, _ = _out(capsys, ["show", "1", "--json"])
    assert json.loads(out)["agreement"] == "no"


def test_at_a_terminal_the_question_is_asked_once_and_only_of_new_recordings(
    env_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asked = _at_a_terminal(monkeypatch, ["maybe", "not sure", "yes"])
    transcript = tmp_path / "2025-02-20 train.vtt"
    transcript.write_text(SESSION)
    _, err = _out(capsys, ["import", str(transcript)])
    assert asked == [] and "agreement" not in err  # a transcript is never asked about
    out, err = _out(capsys, ["import", "--json", str(_recording(tmp_path))])
    assert "needs your therapist's agreement" in err
    assert len(asked) == 2 and err.count("yes / no / not sure: ") == 2  # "maybe": asked again
    assert all(line.startswith("{") for line in out.splitlines())  # stdout stays JSON
    with Reflect.unlock(env_vault, PASSPHRASE) as service:
        recorded = next(s for s in service.sessions() if s.format == "recording")
        assert service.session(recorded.id).extra["consent"]["answer"] == "not sure"

    # The same file again, alone or in its folder: nothing new would be transcribed, so
    # nothing is asked, of a person or of a script (no flag needed to be told so).
    walk = _recording(tmp_path)
    _, err = _out(capsys, ["import", str(walk)])
    _, err_folder = _out(capsys, ["import", str(walk.parent)])
    assert len(asked) == 2 and "agreement" not in err + err_folder
    assert "already in the vault" in err
    _no_terminal(monkeypatch)
    _out(capsys, ["import", str(walk)])
    # A new recording beside it is asked about, once.
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    shutil.copy(AUDIO / "first_turn.wav", walk.parent / "2025-03-11 first turn.wav")
    _out(capsys, ["import", str(walk.parent)])
    assert len(asked) == 3
    with Reflect.unlock(env_vault, PASSPHRASE) as service:
        assert [s.date for s in service.sessions()][-2:] == ["2025-03-04", "2025-03-11"]


def test_a_kept_moment_of_a_recording_plays_whole(
    env_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _no_terminal(monkeypatch)
    _out(capsys, ["import", "--consented", str(_recording(tmp_path))])
    out, _ = _out(capsys, ["show", "1"])
    assert "recorded with your therapist's agreement" in out
    _out(capsys, ["keep", "1", "--at", "0:28", "--label", "the river"])
    out, _ = _out(capsys, ["moments", "--json"])
    (moment,) = json.loads(out)
    assert moment["recording"] is True
    played: list[Any] = []
    monkeypatch.setattr(
        "reflect.audio.play", lambda samples, rate, **_: played.append((samples, rate))
    )
    _, err = _out(capsys, ["moments", "play", "1"])
    assert "Playing “the river”" in err
    ((samples, rate),) = played
    expected = moment["end"] - max(0.0, moment["start"] - 1.5) + 1.0
    assert samples.shape[1] / rate == pytest.approx(expected, abs=0.1)


def test_recordings_are_found_as_the_import_would_find_them(tmp_path: Path) -> None:
    from reflect.ingest import recordings_in

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "2025-02-20 train.vtt").write_text(SESSION)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "old.ogg").write_bytes(b"x")  # a hidden folder is never imported
    assert not list(recordings_in([tmp_path]))
    assert not list(recordings_in([tmp_path / "notes" / "2025-02-20 train.vtt"]))
    (tmp_path / "notes" / "deep").mkdir()
    (tmp_path / "notes" / "deep" / "walk.M4A").write_bytes(b"x")
    walk = tmp_path / "notes" / "deep" / "walk.M4A"
    assert list(recordings_in([tmp_path])) == list(recordings_in([walk.parent])) == [walk]
