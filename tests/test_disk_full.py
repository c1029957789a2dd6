"""A full disk is one calm sentence, a non-zero exit and nothing half-written."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from reflect import fsutil
from reflect.cli import main
from reflect.errors import DiskFull
from reflect.service import Reflect
from reflect.tui.errors import error_text
from tests.conftest import PASSPHRASE

SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Dr. Haddad>Where would you like to start today?

00:00:05.000 --> 00:00:09.000
<v Ines>With the garden. The tomatoes finally came up.
"""


class _FullFile:
    """A file on a disk with no space left: every write fails as the kernel would."""

    def __init__(self, inner: Any, code: int) -> None:
        self.inner = inner
        self.code = code

    def write(self, data: bytes) -> int:
        raise OSError(self.code, os.strerror(self.code))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Any:
    def fill(code: int = errno.ENOSPC) -> None:
        real = os.fdopen

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            return _FullFile(real(fd, *args, **kwargs), code)

        monkeypatch.setattr(fsutil.os, "fdopen", fdopen)

    return fill


@pytest.fixture
def one_session(env_vault: Path, tmp_path: Path) -> Path:
    source = tmp_path / "2024-06-01 garden.vtt"
    source.write_text(SESSION)
    assert main(["import", str(source)]) == 0
    return env_vault


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(f"{fsutil.TEMP_PREFIX}*")]


def titles(vault: Path, passphrase: str = PASSPHRASE) -> list[str]:
    service = Reflect.unlock(vault, passphrase)
    try:
        return [s.title for s in service.sessions()]
    finally:
        service.lock()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
@pytest.mark.parametrize("command", ["import", "passwd", "rename", "backup", "export"])
def test_full_disk_is_one_sentence_and_changes_nothing(
    one_session: Path,
    tmp_path: Path,
    full_disk: Any,
    capsys: pytest.CaptureFixture[str],
    command: str,
    code: int,
) -> None:
    another = tmp_path / "2024-06-08 second.vtt"
    another.write_text(SESSION.replace("tomatoes", "beans"))
    new_pass = tmp_path / "new-pass.txt"
    new_pass.write_text("an entirely new passphrase\n")
    backup_pass = tmp_path / "backup-pass.txt"
    backup_pass.write_text("the backup passphrase\n")
    out = tmp_path / "out"
    out.mkdir()
    argv = {
        "import": ["import", str(another)],
        "passwd": ["passwd", "--new-passphrase-file", str(new_pass)],
        "rename": ["rename", "1", "Tomatoes"],
        "backup": ["backup", str(out / "b.reflect"), "--passphrase-file", str(backup_pass)],
        "export": ["export", "1", "-o", str(out / "garden.txt")],
    }[command]
    before = titles(one_session)
    capsys.readouterr()
    full_disk(code)
    assert main(argv) != 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("reflect:")]
    assert len(lines) == 1 and "Disk full" in lines[0] and "is full" in lines[0], err
    assert "Errno" not in err and "Traceback" not in err
    assert str(out if command in ("backup", "export") else one_session) in lines[0]
    if command in ("backup", "export"):
        assert "MB free" in lines[0]  # the space needed is known for these
    assert not leftovers(one_session) and not list(out.iterdir())
    assert titles(one_session) == before  # and the old passphrase still opens it


def test_the_app_shows_a_full_disk_as_a_sentence(tmp_path: Path) -> None:
    title, message = error_text(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x"))
    )
    assert title == DiskFull.title and str(tmp_path) in message
