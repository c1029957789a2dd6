"""Backups: one encrypted file with its own passphrase; restore without duplicates."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.errors import ReflectError, WrongPassphrase
from reflect.ingest import ImportOptions
from reflect.records import audio_name
from reflect.service import Reflect
from reflect.testing import vault_of
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
    assert filled.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params()).sessions == 3
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


def test_backup_cli_and_status_count_notes_and_handouts_apart(
    filled: Reflect,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_kdf: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled.documents.write_note("Ask about the otter walk next week.")
    handout = tmp_path / "breathing.md"
    handout.write_text("# Breathing\n\nIn for four, out for six.\n")
    filled.documents.import_handout(handout)
    pass_file = tmp_path / "bp.txt"
    pass_file.write_text(BACKUP_PASS + "\n")
    monkeypatch.setenv("REFLECT_VAULT", str(vault_of(filled).path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)

    def said(argv: list[str], stream: str = "err") -> str:
        capsys.readouterr()
        assert main(argv) == 0
        return " ".join(getattr(capsys.readouterr(), stream).split())

    assert "Holds: 3 sessions, 1 note, 1 handout" in said(["status"], "out")
    st = json.loads(said(["status", "--json"], "out"))
    assert (st["sessions"], st["notes"], st["handouts"]) == (3, 1, 1)
    target = tmp_path / "b.bin"
    backup = ["backup", str(target), "--passphrase-file", str(pass_file)]
    assert "Backed up 3 sessions, 1 note, 1 handout to" in said(backup)
    assert main(backup) == 2  # the file exists
    restore = ["restore", str(target), "--passphrase-file", str(pass_file)]
    assert "Restored no sessions, notes or handouts; 5 were already here" in said(restore)
    Reflect.create(tmp_path / "new", "new laptop pass", kdf=crypto.floor_kdf_params()).lock()
    monkeypatch.setenv("REFLECT_VAULT", str(tmp_path / "new"))
    monkeypatch.setenv("REFLECT_PASSPHRASE", "new laptop pass")
    assert "Restored 3 sessions, 1 note, 1 handout; 0 were already here" in said(restore)


RESTORER = """
import sys
import reflect.service
from reflect.cli import main
from reflect.testing import FakeEmbedder
reflect.service._default_embedder_factory = FakeEmbedder
sys.exit(main(["restore", sys.argv[1], "--passphrase-file", sys.argv[2]]))
"""

# The restorer, reporting its own peak memory on the last line of stdout. RUSAGE_CHILDREN in
# the test process would be the peak of *every* child this pytest run has waited for (some load
# the real models), not of this one.
PEAK_REPORTING_RESTORER = (
    """
import atexit, resource, sys
atexit.register(lambda: print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True))
"""
    + RESTORER
)


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


# ---- streaming: memory bounded whatever the backup's size -------------------------------------

BIG_AUDIO = 48 * 1024 * 1024
MEMORY_BOUND = 12 * 1024 * 1024


def traced_peak(action: Callable[[], object]) -> tuple[object, int]:
    """What `action` returns and the most memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_backup_and_restore_stream_a_long_recording(tmp_path: Path) -> None:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    f = tmp_path / "2024-06-01 a long one.txt"
    f.write_text(transcript(7))
    (result,) = service.import_paths([f]).results
    session_id = result.session_id or ""
    # Stands in for an hours-long recording: what matters here is only its size.
    audio = hashlib.sha256(b"invented recording").digest() * (BIG_AUDIO // 32)
    vault_of(service).put(audio_name(session_id), audio, purpose="audio")
    expected = hashlib.sha256(audio).hexdigest()
    del audio
    target = tmp_path / "b.bin"

    report, peak = traced_peak(
        lambda: service.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    )
    assert report.sessions == 1  # type: ignore[attr-defined]
    assert peak < MEMORY_BOUND, f"backup held {peak / 1e6:.0f} MB"
    assert target.stat().st_size > BIG_AUDIO

    fresh = Reflect.create(tmp_path / "fresh", PASSPHRASE, kdf=crypto.floor_kdf_params())
    restored, peak = traced_peak(lambda: fresh.restore(target, BACKUP_PASS))
    assert restored.restored == 1  # type: ignore[attr-defined]
    assert peak < MEMORY_BOUND, f"restore held {peak / 1e6:.0f} MB"
    (summary,) = fresh.sessions()
    assert fresh.session(summary.id).text == service.session(session_id).text
    assert hashlib.sha256(vault_of(fresh).get(audio_name(summary.id))).hexdigest() == expected


def feed_fifo(path: Path, head: bytes, total: int) -> threading.Thread:
    """A writer that sends `head` then zeros, up to `total` bytes, until the reader leaves."""

    def write() -> None:
        try:
            with path.open("wb") as pipe:
                pipe.write(head)
                block = bytes(1024 * 1024)
                for _ in range((total - len(head)) // len(block)):
                    pipe.write(block)
        except BrokenPipeError:
            pass  # the reader refused the stream early: what the test wants

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_restore_refuses_an_endless_stream_after_reading_a_little(
    filled: Reflect, tmp_path: Path
) -> None:
    real = tmp_path / "real.bin"
    filled.backup(real, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    blob = real.read_bytes()
    # A real backup's header and start, then nothing but zeros: sealed chunks that can't
    # authenticate. The first is right up to the first damaged chunk, the second is all
    # zeros after the header (as with `reflect restore /dev/zero` behind a valid start).
    for head in (blob[: len(blob) // 2], blob[:200]):
        fifo = tmp_path / "stream"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        writer = feed_fifo(fifo, head, 160 * 1024 * 1024)
        started = time.monotonic()
        before = len(filled.sessions())
        tracemalloc.start()
        try:
            with pytest.raises(ReflectError) as caught:
                filled.restore(fifo, BACKUP_PASS)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started
        writer.join(30)
        assert "damaged" in caught.value.message
        assert peak < MEMORY_BOUND, f"restore held {peak / 1e6:.0f} MB"
        assert elapsed < 20
        assert len(filled.sessions()) == before


def test_restore_from_dev_zero_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    target = tmp_path / "vault"
    Reflect.create(target, PASSPHRASE, kdf=crypto.floor_kdf_params())
    pass_file = tmp_path / "bp.txt"
    pass_file.write_text(BACKUP_PASS)
    env = dict(os.environ, REFLECT_VAULT=str(target), REFLECT_PASSPHRASE=PASSPHRASE)
    limit = 1024 * 1024 * 1024

    def cap_memory() -> None:
        # Before streaming, this read /dev/zero until the machine ran out; cap the damage.
        resource.setrlimit(resource.RLIMIT_AS, (limit * 4, limit * 4))

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTING_RESTORER, "/dev/zero", str(pass_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap_memory,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stderr
    assert "not a reflect backup" in done.stderr and "Traceback" not in done.stderr
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib * 1024 < limit
