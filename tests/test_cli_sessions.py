"""The session commands as a script would use them: sessions, show, export, rename, remove."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.errors import VaultLocked, WrongPassphrase
from reflect.formats import parse_transcript
from reflect.service import Reflect
from reflect.vault import Vault
from tests.conftest import PASSPHRASE

SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Dr. Lindqvist>Last time you mentioned the choir.

00:00:05.000 --> 00:00:12.000
<v Ezra>I went back on Thursday. I sang the alto line wrong and nobody minded.

00:00:12.500 --> 00:00:15.000
<v Dr. Lindqvist>How did that feel?
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vault"
    Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    source = tmp_path / "2025-02-20 choir.vtt"
    source.write_text(SESSION)
    assert main(["import", "--me", "Ezra", str(source)]) == 0
    return tmp_path


def json_out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_sessions_and_show_json(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (row,) = json_out(capsys, ["sessions", "--json"])  # type: ignore[misc]
    assert row["title"] == "Choir" and row["date"] == "2025-02-20"
    assert row["source_file"] == "2025-02-20 choir.vtt"
    assert row["speakers"] == ["Dr. Lindqvist", "Ezra"] and row["turns"] == 3
    shown = json_out(capsys, ["show", row["id"], "--json"])
    assert shown["turns"][1] == {  # type: ignore[index]
        "speaker": "Ezra",
        "start": 5.0,
        "end": 12.0,
        "text": "I went back on Thursday. I sang the alto line wrong and nobody minded.",
    }
    assert main(["show", "1"]) == 0  # by list number, human form
    assert "alto line" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["txt", "md", "vtt"])
def test_export_round_trips(cli: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = cli / f"out.{fmt}"
    assert main(["export", "1", "--format", fmt, "-o", str(target)]) == 0
    assert "not encrypted" in capsys.readouterr().err
    parsed = parse_transcript(target.read_bytes(), target.name)
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Dr. Lindqvist", "Last time you mentioned the choir."),
        ("Ezra", "I went back on Thursday. I sang the alto line wrong and nobody minded."),
        ("Dr. Lindqvist", "How did that feel?"),
    ]
    assert parsed.turns[1].start == 5.0


def test_rename_redate_remove(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename", "1", "Back to the choir"]) == 0
    assert main(["redate", "1", "2025-02-21"]) == 0
    (row,) = json_out(capsys, ["sessions", "--json"])  # type: ignore[misc]
    assert (row["title"], row["date"], row["date_source"]) == (
        "Back to the choir",
        "2025-02-21",
        "user",
    )
    assert main(["remove", "1"]) == 2  # no terminal to confirm: refuses
    assert main(["remove", "1", "--yes"]) == 0
    assert json_out(capsys, ["sessions", "--json"]) == []
    assert main(["show", "1"]) == 1
    assert "No session matches" in capsys.readouterr().err


def test_speakers_me(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = json_out(capsys, ["speakers", "--json"])
    assert out == {"me": ["Ezra"], "speakers": {"Dr. Lindqvist": 1, "Ezra": 1}}


def test_bad_date_is_a_sentence(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redate", "1", "14/03/2024"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


CHANGER = """
import sys
from reflect import crypto
from reflect.vault import Vault
path, a, b = sys.argv[1:4]
current, other = a, b
print("ready", flush=True)
while True:
    v = Vault.open(path, current)
    v.change_passphrase(other, kdf=crypto.floor_kdf_params())
    current, other = other, current
"""


def test_sigkill_during_passphrase_changes(tmp_path: Path) -> None:
    path = tmp_path / "vault"
    v = Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    v.put("kept", b"still here")
    current, other = PASSPHRASE, "the other passphrase"
    for delay in (0.3, 0.5, 0.7, 0.9, 1.1, 1.3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHANGER, str(path), current, other], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        opens = []
        for candidate in (current, other):
            with contextlib.suppress(WrongPassphrase):
                opens.append((candidate, Vault.open(path, candidate).get("kept")))
        # Exactly one passphrase opens the vault, and its content is intact.
        assert [content for _, content in opens] == [b"still here"]
        current = opens[0][0]
        other = PASSPHRASE if current != PASSPHRASE else "the other passphrase"


BACKER = """
import sys
from reflect import crypto
from reflect.service import Reflect
from reflect.testing import FakeEmbedder
s = Reflect.unlock(sys.argv[1], sys.argv[2], embedder_factory=FakeEmbedder)
print("ready", flush=True)
while True:
    s.backup(__import__("pathlib").Path(sys.argv[3]), "backup pass 123",
             kdf=crypto.floor_kdf_params())
"""


def test_sigkill_during_backup_leaves_vault_and_last_backup_whole(cli: Path) -> None:
    vault = cli / "vault"
    target = cli / "backup.bin"
    for delay in (0.2, 0.6, 1.0):
        proc = subprocess.Popen(
            [sys.executable, "-c", BACKER, str(vault), PASSPHRASE, str(target)],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(Reflect.unlock(vault, PASSPHRASE).sessions()) == 1
        if target.exists():  # a backup is there whole or not at all
            fresh = Reflect.create(
                cli / f"restored-{delay}", "restore here 1", kdf=crypto.floor_kdf_params()
            )
            assert fresh.restore(target, "backup pass 123").restored == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "no such session"],  # fails inside the command
        ["sessions"],  # succeeds
        ["rename", "1", "   "],  # refused
    ],
)
def test_every_command_locks_the_vault_however_it_ends(
    cli: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    opened: list[Reflect] = []
    unlock = Reflect.unlock

    def watched(*args: object, **kwargs: object) -> Reflect:
        service = unlock(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(service)
        return service

    monkeypatch.setattr(Reflect, "unlock", watched)
    main(argv)
    assert len(opened) == 1
    with pytest.raises(VaultLocked):
        opened[0].sessions()
