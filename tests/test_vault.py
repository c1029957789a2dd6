"""The vault with real cryptography: round trips, tampering, passphrase change, permissions."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reflect import crypto
from reflect.errors import (
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultNotFound,
    VaultTooNew,
    WrongPassphrase,
)
from reflect.vault import KEY_FILE, MANIFEST_FILE, OBJECTS_DIR, Vault
from tests.conftest import PASSPHRASE, all_files, grep_tree, tree_digest

MARKER = "The lighthouse keeper hums when nobody is listening 7731"


def object_files(path: Path) -> list[Path]:
    return sorted((path / OBJECTS_DIR).iterdir())


def test_round_trip_across_open(vault: Vault, vault_path: Path) -> None:
    big = os.urandom(300_000)  # several 64 KiB chunks
    with vault.transaction() as tx:
        tx.put("session/a", b"first", purpose="session")
        tx.put("blob", big, purpose="audio")
        tx.put("empty", b"")
    reopened = Vault.open(vault_path, PASSPHRASE)
    assert reopened.names() == ["blob", "empty", "session/a"]
    assert reopened.get("session/a") == b"first"
    assert reopened.get("blob") == big
    assert reopened.get("empty") == b""
    assert reopened.generation == 1


def test_put_replaces_and_delete_removes_files(vault: Vault, vault_path: Path) -> None:
    vault.put("x", b"one")
    vault.put("x", b"two")
    vault.put("y", b"three")
    vault.delete("y")
    assert vault.get("x") == b"two"
    assert "y" not in vault
    assert len(object_files(vault_path)) == 1  # superseded objects are gone


def test_aborted_transaction_changes_nothing(vault: Vault, vault_path: Path) -> None:
    vault.put("keep", b"kept")
    before = tree_digest(vault_path)
    with pytest.raises(RuntimeError), vault.transaction() as tx:
        tx.put("new", b"never committed")
        tx.delete("keep")
        raise RuntimeError("interrupted")
    assert tree_digest(vault_path) == before
    assert Vault.open(vault_path, PASSPHRASE).get("keep") == b"kept"


def test_object_file_names_are_random_ids(vault: Vault, vault_path: Path) -> None:
    vault.put("session/2024-03-14 Sleep and the phone", b"x")
    names = [p.name for p in object_files(vault_path)]
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in names)


def test_wrong_passphrase_changes_nothing(vault: Vault, vault_path: Path) -> None:
    vault.put("x", b"secret")
    before = tree_digest(vault_path)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, "not the passphrase")
    assert tree_digest(vault_path) == before


def test_missing_vault_and_existing_vault(tmp_path: Path, vault: Vault, vault_path: Path) -> None:
    with pytest.raises(VaultNotFound):
        Vault.open(tmp_path / "nowhere", PASSPHRASE)
    with pytest.raises(VaultExists):
        Vault.create(vault_path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    other = tmp_path / "occupied"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(VaultExists):
        Vault.create(other, PASSPHRASE, kdf=crypto.floor_kdf_params())


def test_passphrase_is_unicode_normalised(tmp_path: Path) -> None:
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    Vault.create(tmp_path / "v", composed, kdf=crypto.floor_kdf_params())
    assert Vault.open(tmp_path / "v", decomposed).names() == []


# ---- tampering ----------------------------------------------------------------------------


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def filled(vault: Vault, vault_path: Path) -> Path:
    vault.put("small", b"hello there")
    vault.put("large", os.urandom(200_000))
    return vault_path


def the_object(path: Path, name: str) -> Path:
    v = Vault.open(path, PASSPHRASE)
    entry = v._current_manifest().objects[name]
    return path / OBJECTS_DIR / entry.object_id


@pytest.mark.parametrize("offset", [0, 10, 20, 40, 68])  # magic, chunk size, id, salt, nonce
def test_flipped_header_byte_is_detected(filled: Path, offset: int) -> None:
    target = the_object(filled, "small")
    flip(target, offset)
    with pytest.raises(VaultCorrupted):
        Vault.open(filled, PASSPHRASE).get("small")


@pytest.mark.parametrize("offset", [crypto.HEADER_SIZE, -1, 70_000])
def test_flipped_body_byte_is_detected(filled: Path, offset: int) -> None:
    target = the_object(filled, "large")
    flip(target, offset)
    with pytest.raises(VaultCorrupted):
        Vault.open(filled, PASSPHRASE).get("large")


def test_body_tampering_detected_even_with_manifest_hash_bypassed(filled: Path) -> None:
    """Defence in depth: the AEAD itself rejects a flipped byte, not only the manifest hash."""
    v = Vault.open(filled, PASSPHRASE)
    entry = v._current_manifest().objects["large"]
    blob = bytearray((filled / OBJECTS_DIR / entry.object_id).read_bytes())
    blob[crypto.HEADER_SIZE + 5] ^= 0xFF
    with pytest.raises(VaultCorrupted):
        crypto.open_sealed(
            v._vault_key(),
            "data",
            bytes(blob),
            expected_id=bytes.fromhex(entry.object_id),
            what="x",
        )


def test_truncation_is_detected(filled: Path) -> None:
    v = Vault.open(filled, PASSPHRASE)
    entry = v._current_manifest().objects["large"]
    blob = (filled / OBJECTS_DIR / entry.object_id).read_bytes()
    step = crypto.DEFAULT_CHUNK_SIZE + crypto.TAG_SIZE
    for cut in (len(blob) - 1, crypto.HEADER_SIZE + step, crypto.HEADER_SIZE + 2 * step, 30):
        with pytest.raises(VaultCorrupted):
            crypto.open_sealed(
                v._vault_key(),
                "data",
                blob[:cut],
                expected_id=bytes.fromhex(entry.object_id),
                what="x",
            )
    (filled / OBJECTS_DIR / entry.object_id).write_bytes(blob[: crypto.HEADER_SIZE + step])
    with pytest.raises(VaultCorrupted):
        Vault.open(filled, PASSPHRASE).get("large")


def test_reordered_chunks_are_detected(filled: Path) -> None:
    v = Vault.open(filled, PASSPHRASE)
    entry = v._current_manifest().objects["large"]
    blob = (filled / OBJECTS_DIR / entry.object_id).read_bytes()
    step = crypto.DEFAULT_CHUNK_SIZE + crypto.TAG_SIZE
    h, c0, c1 = crypto.HEADER_SIZE, crypto.HEADER_SIZE + step, crypto.HEADER_SIZE + 2 * step
    swapped = blob[:h] + blob[c0:c1] + blob[h:c0] + blob[c1:]
    with pytest.raises(VaultCorrupted):
        crypto.open_sealed(
            v._vault_key(), "data", swapped, expected_id=bytes.fromhex(entry.object_id), what="x"
        )


def test_swapped_object_files_are_detected(filled: Path) -> None:
    a, b = the_object(filled, "small"), the_object(filled, "large")
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    v = Vault.open(filled, PASSPHRASE)
    for name in ("small", "large"):
        with pytest.raises(VaultCorrupted):
            v.get(name)


def test_object_rolled_back_to_older_copy_is_detected(vault: Vault, vault_path: Path) -> None:
    vault.put("notes", b"version one")
    old = the_object(vault_path, "notes").read_bytes()
    vault.put("notes", b"version two")
    the_object(vault_path, "notes").write_bytes(old)
    with pytest.raises(VaultCorrupted, match="older copy"):
        Vault.open(vault_path, PASSPHRASE).get("notes")


def test_deleted_object_is_noticed_at_unlock(filled: Path) -> None:
    the_object(filled, "small").unlink()
    with pytest.raises(VaultCorrupted, match="missing"):
        Vault.open(filled, PASSPHRASE)


def test_manifest_rolled_back_is_noticed(vault: Vault, vault_path: Path) -> None:
    vault.put("a", b"1")
    old_manifest = (vault_path / MANIFEST_FILE).read_bytes()
    vault.put("a", b"2")
    (vault_path / MANIFEST_FILE).write_bytes(old_manifest)
    with pytest.raises(VaultCorrupted, match="missing"):
        Vault.open(vault_path, PASSPHRASE)


def test_damaged_or_missing_manifest(vault: Vault, vault_path: Path) -> None:
    flip(vault_path / MANIFEST_FILE, 100)
    with pytest.raises(VaultCorrupted):
        Vault.open(vault_path, PASSPHRASE)
    (vault_path / MANIFEST_FILE).unlink()
    with pytest.raises(VaultCorrupted, match="manifest is missing"):
        Vault.open(vault_path, PASSPHRASE)


def edit_key_file(path: Path, change: object, *, fix_checksum: bool) -> None:
    key_path = path / KEY_FILE
    body = json.loads(key_path.read_text())
    body.pop("checksum")
    change(body)  # type: ignore[operator]
    if fix_checksum:
        body["checksum"] = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    key_path.write_text(json.dumps(body))


def flip_wrapped_key(body: dict) -> None:  # type: ignore[type-arg]
    wrapped = bytearray.fromhex(body["key_wrap"]["wrapped_key"])
    wrapped[3] ^= 1
    body["key_wrap"]["wrapped_key"] = wrapped.hex()


def test_flipped_wrapped_key_reads_as_damaged(vault: Vault, vault_path: Path) -> None:
    edit_key_file(vault_path, flip_wrapped_key, fix_checksum=False)
    with pytest.raises(VaultCorrupted, match="key file is damaged"):
        Vault.open(vault_path, PASSPHRASE)


def test_wrapped_key_forged_with_checksum_still_refused(vault: Vault, vault_path: Path) -> None:
    edit_key_file(vault_path, flip_wrapped_key, fix_checksum=True)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, PASSPHRASE)


def test_truncated_key_file(vault: Vault, vault_path: Path) -> None:
    key = vault_path / KEY_FILE
    key.write_bytes(key.read_bytes()[:40])
    with pytest.raises(VaultCorrupted):
        Vault.open(vault_path, PASSPHRASE)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("memory_kib", 8 * 1024),
        ("iterations", 1),
        ("memory_kib", 64 * 1024 * 1024),
        ("iterations", 10_000),
        ("lanes", 0),
    ],
)
def test_kdf_settings_outside_bounds_are_refused(
    vault: Vault, vault_path: Path, field: str, value: int
) -> None:
    edit_key_file(vault_path, lambda b: b["kdf"].__setitem__(field, value), fix_checksum=True)
    with pytest.raises(VaultCorrupted, match="tampered"):
        Vault.open(vault_path, PASSPHRASE)


def test_kdf_settings_are_authenticated(vault: Vault, vault_path: Path) -> None:
    """Raising the settings (still in bounds) with a fixed checksum breaks the key unwrap."""
    edit_key_file(vault_path, lambda b: b["kdf"].__setitem__("iterations", 4), fix_checksum=True)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, PASSPHRASE)


def test_newer_vault_format_is_refused(vault: Vault, vault_path: Path) -> None:
    edit_key_file(vault_path, lambda b: b.__setitem__("reflect_vault", 2), fix_checksum=True)
    with pytest.raises(VaultTooNew, match="newer version"):
        Vault.open(vault_path, PASSPHRASE)


def test_newer_object_format_is_refused(filled: Path) -> None:
    target = the_object(filled, "small")
    data = bytearray(target.read_bytes())
    data[6:8] = (2).to_bytes(2, "big")
    target.write_bytes(bytes(data))
    with pytest.raises((VaultTooNew, VaultCorrupted)):
        Vault.open(filled, PASSPHRASE).get("small")
    with pytest.raises(VaultTooNew):
        crypto.read_header(bytes(data), "x")


# ---- passphrase change ---------------------------------------------------------------------


def test_change_passphrase_rewraps_only_the_key(filled: Path) -> None:
    def object_bytes() -> dict[str, bytes]:
        digest = tree_digest(filled)
        digest.pop(KEY_FILE)
        digest.pop("lock", None)
        return digest

    before = object_bytes()
    v = Vault.open(filled, PASSPHRASE)
    v.change_passphrase("a new and longer passphrase", kdf=crypto.floor_kdf_params())
    assert object_bytes() == before
    with pytest.raises(WrongPassphrase):
        Vault.open(filled, PASSPHRASE)
    assert Vault.open(filled, "a new and longer passphrase").get("small") == b"hello there"


# ---- permissions and plaintext -------------------------------------------------------------


def test_files_and_folders_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # even under a permissive umask
    try:
        path = tmp_path / "v"
        v = Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
        v.put("x", b"data")
        v.change_passphrase("another passphrase", kdf=crypto.floor_kdf_params())
    finally:
        os.umask(old)
    for p in [path, *path.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))


WRITE_MARKER = """
import sys
from reflect import crypto
from reflect.vault import Vault
marker = sys.argv[2]
v = Vault.create(sys.argv[1], "a quiet harbour at dawn", kdf=crypto.floor_kdf_params())
v.put("session/x", ("Client: " + marker).encode(), purpose="session")
v.put("u16", marker.encode("utf-16-le"))
assert Vault.open(sys.argv[1], "a quiet harbour at dawn").get("u16") == marker.encode("utf-16-le")
"""


def test_no_plaintext_under_vault_or_tmp(tmp_path: Path) -> None:
    # A process of its own, with its own empty temp folder and HOME, so that anything it
    # leaks anywhere but the vault is found (and nothing else, like this test's source, is).
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    tmp.mkdir()
    home.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), HOME=str(home))
    subprocess.run(
        [sys.executable, "-c", WRITE_MARKER, str(tmp_path / "vault"), MARKER], env=env, check=True
    )
    needles = [MARKER.encode(), MARKER.encode("utf-16-le"), MARKER[:24].encode()]
    assert grep_tree(tmp_path, needles) == []


def test_debris_from_an_interrupted_write_is_swept(vault: Vault, vault_path: Path) -> None:
    vault.put("a", b"1")
    orphan_id = crypto.new_object_id()  # sealed by a killed import, never named
    orphan = b"".join(crypto.seal(vault._vault_key(), "data", orphan_id, b"orphan"))
    (vault_path / OBJECTS_DIR / orphan_id.hex()).write_bytes(orphan)
    (vault_path / OBJECTS_DIR / ".tmp-deadbeef").write_bytes(b"half written")
    vault.put("b", b"2")
    names = {p.name for p in object_files(vault_path)}
    assert orphan_id.hex() not in names and ".tmp-deadbeef" not in names
    assert len(names) == 2


def test_closed_vault_forgets_its_key(vault: Vault) -> None:
    vault.put("a", b"1")
    vault.close()
    assert not vault.is_open
    from reflect.errors import VaultLocked

    with pytest.raises(VaultLocked):
        vault.get("a")


def test_second_process_sees_commits(vault: Vault, vault_path: Path) -> None:
    other = Vault.open(vault_path, PASSPHRASE)
    assert other.names() == []
    vault.put("from-first", b"hi")
    assert other.get("from-first") == b"hi"


def test_copy_of_vault_opens_elsewhere(vault: Vault, vault_path: Path, tmp_path: Path) -> None:
    vault.put("a", b"portable")
    shutil.copytree(vault_path, tmp_path / "copy")
    assert Vault.open(tmp_path / "copy", PASSPHRASE).get("a") == b"portable"
    assert len(all_files(tmp_path / "copy")) >= 3


# ---- streaming reads (recordings) -----------------------------------------------------------


CHUNK = crypto.DEFAULT_CHUNK_SIZE


@pytest.mark.parametrize("size", [0, 1, CHUNK, 3 * CHUNK + 7])
def test_open_stream_reads_any_range(vault: Vault, size: int) -> None:
    data = os.urandom(size)
    vault.put("audio/x", data, purpose="audio")
    with vault.open_stream("audio/x") as f:
        assert f.read() == data
        for start, length in ((0, 10), (size // 2, 5000), (max(0, size - 3), 100), (size, 10)):
            f.seek(start)
            assert f.read(length) == data[start : start + length]
        f.seek(-5, os.SEEK_END)
        assert f.tell() == max(0, size - 5)


def test_open_stream_decrypts_only_the_chunks_read(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(20 * crypto.DEFAULT_CHUNK_SIZE)
    vault.put("audio/long", data, purpose="audio")
    decrypted: list[int] = []
    original = crypto.SealedReader._chunk

    def counting(self: crypto.SealedReader, index: int) -> bytes:
        decrypted.append(index)
        return original(self, index)

    monkeypatch.setattr(crypto.SealedReader, "_chunk", counting)
    with vault.open_stream("audio/long") as f:
        f.seek(12 * crypto.DEFAULT_CHUNK_SIZE + 100)
        assert f.read(1000) == data[12 * crypto.DEFAULT_CHUNK_SIZE + 100 :][:1000]
    assert set(decrypted) == {12}


def test_open_stream_detects_damage_and_truncation(filled: Path) -> None:
    target = the_object(filled, "large")
    flip(target, crypto.HEADER_SIZE + crypto.DEFAULT_CHUNK_SIZE + crypto.TAG_SIZE + 5)
    v = Vault.open(filled, PASSPHRASE)
    with v.open_stream("large") as f:
        assert len(f.read(1000)) == 1000  # chunk 0 is intact
        f.seek(crypto.DEFAULT_CHUNK_SIZE + 10)
        with pytest.raises(VaultCorrupted):
            f.read(10)
    blob = target.read_bytes()
    target.write_bytes(blob[:-1])
    with pytest.raises(VaultCorrupted):
        v.open_stream("large")


def test_writers_on_several_threads_take_turns(vault: Vault) -> None:
    """The app writes from several worker threads at once (a recap sealed after unlock, a
    moment kept, an agreement marked): each waits its turn; none fails or is lost."""
    import threading
    import time

    started = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with vault.transaction() as tx:
                started.set()
                time.sleep(0.3)  # still inside while the others begin
                tx.put("slow", b"1")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def writer(n: int) -> None:
        try:
            vault.put(f"quick-{n}", str(n).encode())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    first = threading.Thread(target=slow_writer)
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert errors == []
    assert sorted(vault.names()) == ["quick-0", "quick-1", "quick-2", "quick-3", "slow"]


def test_a_transaction_inside_a_transaction_is_refused(vault: Vault) -> None:
    with vault.transaction(), pytest.raises(VaultError, match="already running"):
        vault.put("inner", b"x")
