"""Importing transcripts into a real vault: dates, titles, duplicates, bad input, interruption."""

from __future__ import annotations

import datetime as dt
import json
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
from reflect.ingest import ImportOptions, title_from_filename
from reflect.records import CATALOG, SESSION_PREFIX
from reflect.service import Reflect
from reflect.testing import store_of, vault_of
from reflect.vault import Vault
from tests.conftest import PASSPHRASE, grep_tree

MARKER = "my grandmother's blue teapot with the chipped spout 4471"


def transcript(n: int, extra: str = "") -> str:
    """An invented session; `n` makes each one distinct."""
    return (
        f"[00:00:05] Therapist: How has week {n} been for you?\n"
        f"[00:00:09] Robin: Honestly, better. I walked to the river {n} times.\n"
        "[00:00:20] Therapist: Mm-hmm.\n"
        f"[00:00:22] Robin: And I slept through the night twice. {extra}\n"
    )


@pytest.fixture
def service(tmp_path: Path) -> Reflect:
    return Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())


def test_import_one_file_dates_title_and_offsets(service: Reflect, tmp_path: Path) -> None:
    f = tmp_path / "2024-03-14 after the move.txt"
    f.write_text(transcript(1))
    report = service.import_paths([f])
    assert report.count("imported") == 1
    (summary,) = service.sessions()
    assert summary.date == "2024-03-14" and summary.date_source == "filename"
    assert summary.title == "After the move"
    assert summary.speakers == ["Therapist", "Robin"] and summary.turns == 4
    session = service.session(summary.id)
    assert [session.turn_text(t) for t in session.turns][1].startswith("Honestly, better.")
    assert session.turns[1].start == 9.0


def test_date_sources_in_order(service: Reflect, tmp_path: Path) -> None:
    named = tmp_path / "session_2023_11_02.txt"
    named.write_text(transcript(1))
    plain = tmp_path / "notes.txt"
    plain.write_text(transcript(2))
    stamp = dt.datetime(2022, 5, 6, 12).timestamp()
    os.utime(plain, (stamp, stamp))
    chosen = tmp_path / "2020-01-01 chosen.txt"
    chosen.write_text(transcript(3))
    service.import_paths([named])
    service.import_paths([plain])
    service.import_paths([chosen], ImportOptions(date=dt.date(2021, 9, 9)))
    by_file = {s.source_file: (s.date, s.date_source) for s in service.sessions()}
    assert by_file == {
        "session_2023_11_02.txt": ("2023-11-02", "filename"),
        "notes.txt": ("2022-05-06", "modified"),
        "2020-01-01 chosen.txt": ("2021-09-09", "option"),
    }


def test_reimport_is_a_no_op_and_replace_keeps_the_id(service: Reflect, tmp_path: Path) -> None:
    f = tmp_path / "2024-01-01 weekly.txt"
    f.write_text(transcript(1))
    service.import_paths([f])
    generation = vault_of(service).generation
    again = service.import_paths([f])
    assert again.count("duplicate") == 1 and vault_of(service).generation == generation
    f.write_text(transcript(1, extra="Also, a new line."))
    assert service.import_paths([f]).count("imported") == 1
    assert len(service.sessions()) == 2
    f.write_text(transcript(1, extra="A third version."))
    first_id = service.sessions()[-1].id
    assert service.import_paths([f], ImportOptions(replace=True)).count("replaced") == 1
    assert len(service.sessions()) == 2
    assert first_id in {s.id for s in service.sessions()}
    assert "A third version." in service.session(first_id).text


def test_rename_redate_remove(service: Reflect, tmp_path: Path) -> None:
    f = tmp_path / "2024-02-02 x.txt"
    f.write_text(transcript(1))
    service.import_paths([f])
    sid = service.sessions()[0].id
    service.rename(sid, "The one about the river")
    service.redate(sid, dt.date(2024, 2, 3))
    s = service.sessions()[0]
    assert (s.title, s.date, s.date_source) == ("The one about the river", "2024-02-03", "user")
    service.remove(sid)
    assert service.sessions() == []
    assert vault_of(service).names(SESSION_PREFIX) == []


def test_title_from_filename() -> None:
    assert title_from_filename("2024-03-14 session 3.vtt") == "Session 3"
    assert title_from_filename("session_2024_03_14.srt") == "Session"
    assert title_from_filename("20240314.txt") == ""


def make_folder(root: Path, good: int) -> None:
    root.mkdir()
    for i in range(good):
        sub = root / f"month-{i % 4}"
        sub.mkdir(exist_ok=True)
        (sub / f"2025-01-{(i % 28) + 1:02d} session {i}.txt").write_text(transcript(i))
    (root / "empty.txt").write_bytes(b"")
    (root / "photo.vtt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(400))
    (root / "cut.json").write_text('{"segments": [{"start": 0, "end": 2, "text": "Hel')
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "scan.pdf").write_bytes(b"%PDF-1.4")


def test_folder_with_broken_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    make_folder(folder, 197)
    path = tmp_path / "vault"
    Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    assert main(["import", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "197 imported" in err and "3 failed" in err and "1 skipped" in err
    for name in ("empty.txt", "photo.vtt", "cut.json"):
        assert name in err
    assert "Traceback" not in err
    assert len(Reflect.unlock(path, PASSPHRASE).sessions()) == 197
    # JSON lines for scripts: progress, one result per file, then a summary.
    assert main(["import", "--json", str(folder)]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1] == {
        "event": "summary",
        "imported": 0,
        "replaced": 0,
        "duplicates": 197,
        "failed": 3,
        "skipped": [str(folder / "scan.pdf")],
    }
    assert any(e["event"] == "progress" for e in events)


def test_no_plaintext_in_vault_after_import(service: Reflect, tmp_path: Path) -> None:
    f = tmp_path / "2024-05-05 teapot.txt"
    f.write_text(transcript(1, extra=MARKER))
    service.import_paths([f])
    f.unlink()  # the user's own source file is theirs; the vault must not hold plaintext
    needles = [MARKER.encode(), MARKER.encode("utf-16-le"), b"Robin", b"teapot"]
    assert grep_tree(vault_of(service).path, needles) == []


IMPORTER = """
import sys
import reflect.service
from reflect.cli import main
from reflect.testing import FakeEmbedder
reflect.service._default_embedder_factory = FakeEmbedder
sys.exit(main(["import", "--json", *sys.argv[1:]]))
"""


def test_sigkill_during_import_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    make_folder(folder, 60)
    path = tmp_path / "vault"
    Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    env = dict(os.environ, REFLECT_VAULT=str(path), REFLECT_PASSPHRASE=PASSPHRASE)
    rng = random.Random(7)
    counts = []
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", IMPORTER, str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        # Kill somewhere inside the import: after a random number of files stored, plus a
        # random fraction of the next one. Files are read in groups, then embedded, then
        # stored one by one, each announced by a progress event before it is stored; counted
        # from the first embedding (the "indexing" events), not from reading, which commits
        # nothing: a kill while a group is read proved nothing once embedding took longer.
        target = rng.randint(1, 8)
        embedding = False
        stored = 0
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] != "progress":
                continue
            if "indexing" in event:
                embedding = True
            elif embedding:
                stored += 1
                if stored > target:
                    break
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        vault = Vault.open(path, PASSPHRASE)
        service = Reflect(vault)
        catalog = service.sessions()
        # Catalog and stored sessions agree exactly: nothing half-stored.
        assert {SESSION_PREFIX + s.id for s in catalog} == set(vault.names(SESSION_PREFIX))
        for s in catalog:
            assert store_of(service).get(s.id).turns
        counts.append(len(catalog))
    assert counts == sorted(counts), "a session imported before a kill was lost"
    assert counts[-1] > 0, "no import ever committed before a kill; the test proved nothing"
    done = subprocess.run(
        [sys.executable, "-c", IMPORTER, str(folder)], env=env, capture_output=True, text=True
    )
    assert json.loads(done.stdout.splitlines()[-1])["failed"] == 3
    assert done.returncode == 1  # the 3 broken files
    final = Reflect.unlock(path, PASSPHRASE).sessions()
    assert len(final) == 60 and len({s.content_hash for s in final}) == 60
    assert CATALOG in Vault.open(path, PASSPHRASE)


def test_cancelled_import_stops_between_files(service: Reflect, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(6):
        (folder / f"2025-03-{i + 1:02d} s.txt").write_text(transcript(i))

    def cancel_during_third(p: object) -> None:
        if getattr(p, "files_done", 0) == 2:  # announced as the third file starts
            service.cancel_import()

    report = service.import_paths([folder], progress=cancel_during_third)
    assert report.stopped and report.count("imported") == 3  # the file in hand finishes
    assert "stopped" in report.summary()
    assert len(service.sessions()) == 3
    assert service.import_paths([folder]).count("imported") == 3  # the rest, next time
