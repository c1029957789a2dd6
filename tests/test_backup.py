"""Backups: one encrypted file with its own passphrase; restore without duplicates."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.errors import WrongPassphrase
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from tests.conftest import PASSPHRASE, grep_tree
from tests.test_ingest import make_folder, transcript

BACKUP_PASS = "a different backup passphrase"


@pytest.fixture
def filled(tmp_path: Path) -> Reflect:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    for i in range(3):
        f = tmp_path / f"2024-0{i + 1}-10 week {i}.txt"
        f.write_text(transcript(i, extra="The otter in the canal 5521."))
        service.import_paths([f], ImportOptions(me="Robin"))
    return service


def test_backup_restore_round_trip(filled: Reflect, tmp_path: Path) -> None:
    target = tmp_path / "reflect-backup.bin"
    assert filled.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params()) == 3
    # Only the user's own source files hold the words; the vault and the backup don't.
    assert {p.suffix for p in grep_tree(tmp_path, [b"otter in the canal"])} == {".txt"}
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    fresh = Reflect.create(
        tmp_path / "new-laptop", "new laptop pass", kdf=crypto.floor_kdf_params()
    )
    report = fresh.restore(target, BACKUP_PASS)
    assert (report.restored, report.already_present) == (3, 0)
    assert [s.title for s in fresh.sessions()] == [s.title for s in filled.sessions()]
    assert fresh.me_labels() == ["Robin"]
    first = fresh.sessions()[0]
    assert fresh.session(first.id).text == filled.session(first.id).text
    again = fresh.restore(target, BACKUP_PASS)
    assert (again.restored, again.already_present) == (0, 3)
    assert len(fresh.sessions()) == 3


def test_backup_is_encrypted_and_checked(filled: Reflect, tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    filled.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    assert b"otter" not in target.read_bytes() and b"Robin" not in target.read_bytes()
    with pytest.raises(WrongPassphrase):
        filled.restore(target, "wrong passphrase!")
    data = bytearray(target.read_bytes())
    data[-40] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(WrongPassphrase, match="damaged"):
        filled.restore(target, BACKUP_PASS)


def test_backup_cli(
    filled: Reflect,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_kdf: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pass_file = tmp_path / "bp.txt"
    pass_file.write_text(BACKUP_PASS + "\n")
    monkeypatch.setenv("REFLECT_VAULT", str(filled.vault.path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    target = tmp_path / "b.bin"
    assert main(["backup", str(target), "--passphrase-file", str(pass_file)]) == 0
    assert main(["backup", str(target), "--passphrase-file", str(pass_file)]) == 2
    assert main(["restore", str(target), "--passphrase-file", str(pass_file)]) == 0
    assert "0 session(s); 3 were already here" in capsys.readouterr().err


RESTORER = """
import sys
import reflect.service
from reflect.cli import main
from reflect.testing import FakeEmbedder
reflect.service._default_embedder_factory = FakeEmbedder
sys.exit(main(["restore", sys.argv[1], "--passphrase-file", sys.argv[2]]))
"""


def test_sigkill_during_restore_then_rerun(tmp_path: Path) -> None:
    source = Reflect.create(tmp_path / "src", PASSPHRASE, kdf=crypto.floor_kdf_params())
    folder = tmp_path / "many"
    make_folder(folder, 40)
    source.import_paths([folder])
    backup = tmp_path / "b.bin"
    source.backup(backup, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    pass_file = tmp_path / "bp.txt"
    pass_file.write_text(BACKUP_PASS)
    target = tmp_path / "dst"
    Reflect.create(target, PASSPHRASE, kdf=crypto.floor_kdf_params())
    env = dict(os.environ, REFLECT_VAULT=str(target), REFLECT_PASSPHRASE=PASSPHRASE)
    rng = random.Random(3)
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", RESTORER, str(backup), str(pass_file)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = Reflect.unlock(target, PASSPHRASE)
        for s in partial.sessions():
            assert partial.session(s.id).turns
    done = subprocess.run([sys.executable, "-c", RESTORER, str(backup), str(pass_file)], env=env)
    assert done.returncode == 0
    final = Reflect.unlock(target, PASSPHRASE).sessions()
    assert len(final) == 40 and len({s.content_hash for s in final}) == 40
