"""`reflect init`, `status` and `passwd` as a person or a script would use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reflect.cli import main
from reflect.vault import KEY_FILE, Vault
from tests.conftest import tree_digest


@pytest.fixture
def pass_file(tmp_path: Path) -> Path:
    f = tmp_path / "pass.txt"
    f.write_text("first passphrase here\n")
    return f


@pytest.fixture
def cli_vault(
    tmp_path: Path, pass_file: Path, monkeypatch: pytest.MonkeyPatch, fast_kdf: None
) -> Path:
    path = tmp_path / "vault"
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE_FILE", str(pass_file))
    assert main(["init"]) == 0
    return path


def test_init_creates_vault_and_refuses_a_second(
    cli_vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Vault.exists(cli_vault)
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err


def test_status_json(cli_vault: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["format_version"] == 1 and st["sessions"] == st["notes"] == st["handouts"] == 0
    assert st["kdf"]["memory_mib"] >= 64 and st["kdf"]["iterations"] >= 3


def test_vault_option_and_env_passphrase(
    cli_vault: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REFLECT_VAULT")
    monkeypatch.delenv("REFLECT_PASSPHRASE_FILE")
    monkeypatch.setenv("REFLECT_PASSPHRASE", "first passphrase here")
    assert main(["status", "--vault", str(cli_vault)]) == 0
    assert "Holds:     no sessions, notes or handouts" in capsys.readouterr().out


def test_wrong_passphrase_is_one_clear_line(
    cli_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it at all")
    monkeypatch.setenv("REFLECT_PASSPHRASE_FILE", str(wrong))
    before = tree_digest(cli_vault)
    assert main(["status"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "reflect: Wrong passphrase: That passphrase doesn't open this vault."
    assert tree_digest(cli_vault) == before


def test_missing_vault(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--vault", str(tmp_path / "none")]) == 1
    assert "No vault here" in capsys.readouterr().err


def test_no_passphrase_without_terminal(
    cli_vault: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REFLECT_PASSPHRASE_FILE")
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115
    assert main(["status"]) == 2
    assert "REFLECT_PASSPHRASE_FILE" in capsys.readouterr().err


def test_passwd_changes_only_the_key(
    cli_vault: Path, tmp_path: Path, pass_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_digest(cli_vault)
    new = tmp_path / "new.txt"
    new.write_text("the second passphrase\n")
    assert main(["passwd", "--new-passphrase-file", str(new)]) == 0
    after = tree_digest(cli_vault)
    assert {k for k in after if after[k] != before.get(k)} == {KEY_FILE}
    assert main(["status"]) == 1  # the old passphrase file no longer opens it
    monkeypatch.setenv("REFLECT_PASSPHRASE_FILE", str(new))
    assert main(["status"]) == 0


def test_passwd_refuses_a_short_passphrase(
    cli_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.txt"
    short.write_text("abc")
    assert main(["passwd", "--new-passphrase-file", str(short)]) == 2
    assert "at least 8" in capsys.readouterr().err


def test_damaged_vault_through_real_entry_point(cli_vault: Path, pass_file: Path) -> None:
    key = cli_vault / KEY_FILE
    key.write_bytes(key.read_bytes()[:-30])
    env = dict(os.environ, REFLECT_VAULT=str(cli_vault), REFLECT_PASSPHRASE_FILE=str(pass_file))
    exe = Path(sys.executable).with_name("reflect")
    result = subprocess.run([str(exe), "status"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("reflect: Vault damaged:")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


# ---- issue #13: a missing key file, an older copy, waiting for another reflect ---------------


def test_a_vault_missing_its_key_file_is_explained_and_never_initialised_over(
    cli_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(_transcript(tmp_path))]) == 0
    (cli_vault / KEY_FILE).rename(tmp_path / "reflect-vault.json.moved")
    before = tree_digest(cli_vault)
    capsys.readouterr()
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "Vault key file missing" in err and KEY_FILE in err and "backup" in err
    assert "reflect init" not in err and "Traceback" not in err
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert KEY_FILE in err and "reflect init" not in err
    assert tree_digest(cli_vault) == before
    (tmp_path / "reflect-vault.json.moved").rename(cli_vault / KEY_FILE)
    assert main(["sessions", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_an_older_copy_of_the_vault_is_mentioned_once(
    cli_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(cli_vault, tmp_path / "yesterday")
    assert main(["import", str(_transcript(tmp_path))]) == 0
    shutil.rmtree(cli_vault)
    shutil.copytree(tmp_path / "yesterday", cli_vault)
    capsys.readouterr()
    assert main(["status"]) == 0
    first = capsys.readouterr().err
    assert "older copy" in first and "won't appear again" in first
    assert main(["status"]) == 0
    assert "older copy" not in capsys.readouterr().err


def test_waiting_for_another_reflect_says_so(
    cli_vault: Path, pass_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    holder = Vault.open(cli_vault, pass_file.read_text().strip())
    holder.activity = "import"
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction() as tx:
            tx.put("busy", b"1")
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    threading.Timer(1.5, release.set).start()
    new = tmp_path / "new.txt"
    new.write_text("the second passphrase\n")
    capsys.readouterr()
    assert main(["passwd", "--new-passphrase-file", str(new)]) == 0
    thread.join()
    err = capsys.readouterr().err
    assert err.count("Waiting for another reflect (import) to finish") == 1


def _transcript(folder: Path) -> Path:
    path = folder / "2024-05-04 session.txt"
    path.write_text(
        "[00:00:01] Therapist: How was the week, Iris?\n"
        "[00:00:05] Iris: Calmer. I walked by the river twice.\n"
    )
    return path
