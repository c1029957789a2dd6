"""One damaged object in the vault costs at most its own session, never the whole vault.

An index record is derived from its session, so a damaged one is rebuilt at unlock with a
calm note. A damaged session is set aside by name and everything else keeps working, and a
backup still takes everything intact. The damage is done on disk, as a sync tool or a
careless copy would: one object file swapped with another, or one byte flipped.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.index_record import decode_index_record, encode_index_record, read_index_record
from reflect.ingest import ImportOptions
from reflect.live_index import CHUNKING_VERSION
from reflect.records import INDEX_PREFIX, SESSION_PREFIX, audio_name
from reflect.service import Reflect
from reflect.testing import store_of, vault_of
from reflect.vault import OBJECTS_DIR
from tests.conftest import PASSPHRASE

BACKUP_PASS = "a separate backup passphrase"

# Invented sessions of an invented client, Ines, and her invented therapist.
SESSIONS = {
    "2025-02-03 the bees.txt": (
        "[00:00:04] Therapist: What did the weekend bring?\n"
        "[00:00:09] Ines: I helped my uncle move the beehives to the orchard by the quarry.\n"
    ),
    "2025-02-10 the choir.txt": (
        "[00:00:03] Therapist: You said you might go back to the choir.\n"
        "[00:00:08] Ines: I went on Thursday and sang the alto line of the harvest hymn.\n"
    ),
    "2025-02-17 the bicycle.txt": (
        "[00:00:05] Therapist: How was the ride?\n"
        "[00:00:10] Ines: I cycled the towpath to the lighthouse cafe without stopping once.\n"
    ),
}
NEEDLES = ("beehives to the orchard", "alto line of the harvest hymn", "towpath to the lighthouse")


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    for name, text in SESSIONS.items():
        (tmp_path / name).write_text(text)
        service.import_paths([tmp_path / name], ImportOptions(me="Ines"))
    service.lock()
    return tmp_path / "vault"


def object_file(vault_path: Path, name: str) -> Path:
    service = Reflect.unlock(vault_path, PASSPHRASE)
    try:
        entry = vault_of(service)._current_manifest().objects[name]
    finally:
        service.lock()
    return vault_path / OBJECTS_DIR / entry.object_id


def session_ids(vault_path: Path) -> list[str]:
    service = Reflect.unlock(vault_path, PASSPHRASE)
    try:
        return [s.id for s in service.sessions()]
    finally:
        service.lock()


def swap(a: Path, b: Path) -> None:
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)


def flip(path: Path, offset: int = -30) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def damage_object(vault_path: Path, how: str, name: str, other: str) -> None:
    """Swap the file of object `name` with that of `other`, or flip a byte of it."""
    if how == "swap":
        swap(object_file(vault_path, name), object_file(vault_path, other))
    else:
        flip(object_file(vault_path, name))


def assert_every_session_is_found(service: Reflect, needles: tuple[str, ...] = NEEDLES) -> None:
    for needle in needles:
        hits = service.quotes(needle, k=1).hits
        assert hits and needle in hits[0].text, needle


@pytest.mark.parametrize("damage", ["swap", "flip"])
def test_a_damaged_index_record_is_rebuilt_at_unlock(
    vault_path: Path, tmp_path: Path, damage: str
) -> None:
    first, second, _ = session_ids(vault_path)
    damage_object(vault_path, damage, INDEX_PREFIX + first, INDEX_PREFIX + second)

    service = Reflect.unlock(vault_path, PASSPHRASE)
    service.open_index()
    assert_every_session_is_found(service)
    notes = service.index_notes()
    assert notes and all("rebuilt" in note for note in notes)
    assert any("the bees" in note.casefold() for note in notes)
    # The rebuilt records are stored: the next unlock has nothing to say.
    for summary in service.sessions():
        _, chunks, vectors = decode_index_record(store_of(service).index_record(summary.id) or b"")
        assert len(chunks) == len(vectors) > 0
    report = service.backup(tmp_path / "b.bin", BACKUP_PASS, kdf=crypto.floor_kdf_params())
    assert (report.sessions, report.left_out) == (3, [])
    service.lock()

    again = Reflect.unlock(vault_path, PASSPHRASE)
    again.open_index()
    assert again.index_notes() == []
    assert_every_session_is_found(again)


@pytest.mark.parametrize("damage", ["swap", "flip"])
def test_a_damaged_session_is_set_aside_and_the_rest_works(
    vault_path: Path, tmp_path: Path, damage: str
) -> None:
    first = session_ids(vault_path)[0]
    # Swapped with its own index record's file: both are unreadable.
    damage_object(vault_path, damage, SESSION_PREFIX + first, INDEX_PREFIX + first)

    service = Reflect.unlock(vault_path, PASSPHRASE)
    service.open_index()
    assert_every_session_is_found(service, NEEDLES[1:])
    (note,) = service.index_notes()
    assert "the bees" in note.casefold() and first in note and "set aside" in note
    assert len(service.sessions()) == 3  # still listed, so it can be removed or restored

    target = tmp_path / "b.bin"
    report = service.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    assert report.sessions == 2
    assert len(report.left_out) == 1 and "the bees" in report.left_out[0].casefold()
    fresh = Reflect.create(tmp_path / "fresh", PASSPHRASE, kdf=crypto.floor_kdf_params())
    assert fresh.restore(target, BACKUP_PASS).restored == 2
    fresh.open_index()
    assert_every_session_is_found(fresh, NEEDLES[1:])


def test_cli_quotes_and_backup_work_around_a_damaged_object(
    vault_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_kdf: None,
) -> None:
    first, second, third = session_ids(vault_path)
    swap(
        object_file(vault_path, INDEX_PREFIX + first),
        object_file(vault_path, INDEX_PREFIX + second),
    )
    flip(object_file(vault_path, SESSION_PREFIX + third))
    monkeypatch.setenv("REFLECT_VAULT", str(vault_path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    pass_file = tmp_path / "bp.txt"
    pass_file.write_text(BACKUP_PASS)
    capsys.readouterr()

    assert main(["quotes", "the alto line of the harvest hymn", "--json"]) == 0
    out, err = capsys.readouterr()
    err = " ".join(err.split()).casefold()
    assert "alto line of the harvest hymn" in out
    assert "rebuilt" in err and "set aside" in err and "the bicycle" in err

    assert main(["backup", str(tmp_path / "b.bin"), "--passphrase-file", str(pass_file)]) == 0
    err = " ".join(capsys.readouterr().err.split()).casefold()
    assert "backed up 2 sessions to" in err and "the bicycle" in err


@pytest.mark.parametrize("damage", ["swap", "flip"])
def test_backup_leaves_out_a_damaged_recording_and_keeps_its_session(
    vault_path: Path, tmp_path: Path, damage: str
) -> None:
    first, second, _ = session_ids(vault_path)
    service = Reflect.unlock(vault_path, PASSPHRASE)
    # Stands in for the session's sealed recording: several chunks of invented bytes.
    vault_of(service).put(audio_name(first), bytes(range(256)) * 1024, purpose="audio")
    service.lock()
    damage_object(vault_path, damage, audio_name(first), INDEX_PREFIX + second)

    service = Reflect.unlock(vault_path, PASSPHRASE)
    target = tmp_path / "b.bin"
    report = service.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    assert report.sessions == 3
    (note,) = report.left_out
    assert "recording" in note and "the bees" in note.casefold()
    fresh = Reflect.create(tmp_path / "fresh", PASSPHRASE, kdf=crypto.floor_kdf_params())
    assert fresh.restore(target, BACKUP_PASS).restored == 3
    assert vault_of(fresh).names("audio/") == []


def test_a_record_made_before_sentences_were_embedded_is_rebuilt_with_them(
    vault_path: Path,
) -> None:
    # A format 1 record with the chunking of before ("chunks-2"), as older versions stored.
    service = Reflect.unlock(vault_path, PASSPHRASE)
    first = service.sessions()[0]
    record = read_index_record(store_of(service).index_record(first.id) or b"")
    old_identity = record.model_id.replace(CHUNKING_VERSION, "chunks-2")
    old = bytearray(encode_index_record(old_identity, record.chunks, record.embeddings))
    struct.pack_into("<H", old, 4, 1)
    session = service.session(first.id)
    assert store_of(service).put_index_record(first.id, bytes(old), made_from=session)
    service.lock()

    again = Reflect.unlock(vault_path, PASSPHRASE)
    again.open_index()
    assert again.index_notes() == []  # not damage: a rebuild, as after a model change
    assert_every_session_is_found(again)
    rebuilt = read_index_record(store_of(again).index_record(first.id) or b"")
    assert rebuilt.model_id == record.model_id
    assert rebuilt.sentences is not None and len(rebuilt.sentences) > 0
    again.lock()
