"""`export`, `backup` and `clip` follow one rule for the files they write: never over an
existing file without --force, and never inside the vault folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflect.cli import main
from reflect.service import Reflect
from reflect.vault import KEY_FILE
from tests.conftest import PASSPHRASE

SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Dr. Brandt>What did you notice this week?

00:00:05.000 --> 00:00:09.000
<v Tomasz>That I breathe better near the river.
"""


@pytest.fixture
def ready(env_vault: Path, tmp_path: Path) -> Path:
    source = tmp_path / "2024-07-02 river.vtt"
    source.write_text(SESSION)
    assert main(["import", str(source)]) == 0
    pass_file = tmp_path / "backup-pass.txt"
    pass_file.write_text("a backup passphrase\n")
    return env_vault


def writer(command: str, target: Path, pass_file: Path) -> list[str]:
    if command == "export":
        return ["export", "1", "-o", str(target)]
    return ["backup", str(target), "--passphrase-file", str(pass_file)]


@pytest.mark.parametrize("command", ["export", "backup"])
def test_an_existing_file_needs_force(
    ready: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "notes.txt"
    target.write_text("my own notes, not to be lost")
    capsys.readouterr()
    argv = writer(command, target, tmp_path / "backup-pass.txt")
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text() == "my own notes, not to be lost"
    assert main([*argv, "--force"]) == 0
    assert target.read_bytes() != b"my own notes, not to be lost"


@pytest.mark.parametrize("command", ["export", "backup"])
@pytest.mark.parametrize("inside", ["manifest", KEY_FILE, "objects/new-file", "fresh.txt"])
def test_nothing_is_written_inside_the_vault(
    ready: Path, command: str, inside: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ready / inside
    before = {p: p.read_bytes() for p in ready.rglob("*") if p.is_file()}
    capsys.readouterr()
    for force in ([], ["--force"]):
        assert main([*writer(command, target, ready.parent / "backup-pass.txt"), *force]) == 2
        assert "inside the vault folder" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in ready.rglob("*") if p.is_file()} == before
    service = Reflect.unlock(ready, PASSPHRASE)
    assert len(service.sessions()) == 1
    service.lock()


def test_a_symlink_into_the_vault_is_inside_it(ready: Path, tmp_path: Path) -> None:
    link = tmp_path / "elsewhere"
    link.symlink_to(ready)
    assert main(["export", "1", "-o", str(link / "manifest"), "--force"]) == 2
