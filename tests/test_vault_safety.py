"""A vault never lost to a missing key file, an old copy never taken silently (issue #13).

Covers: init over a vault whose key file is gone, the debris sweep and objects it can't
attribute, whole-folder rollback, a changed vault id, and waiting on the writer lock.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from reflect import crypto
from reflect.errors import VaultCorrupted, VaultError, WrongPassphrase
from reflect.vault import KEY_FILE, MANIFEST_FILE, OBJECTS_DIR, Manifest, Vault, _KeyFile
from tests.conftest import PASSPHRASE, tree_digest


def object_names(path: Path) -> set[str]:
    return {p.name for p in (path / OBJECTS_DIR).iterdir()}


# ---- a vault whose key file is missing ---------------------------------------------------


def _leave_manifest_only(path: Path) -> None:
    shutil.rmtree(path / OBJECTS_DIR)
    (path / OBJECTS_DIR).mkdir()


def _leave_objects_only(path: Path) -> None:
    (path / MANIFEST_FILE).unlink()


def _leave_debris_only(path: Path) -> None:
    (path / MANIFEST_FILE).unlink()
    shutil.rmtree(path / OBJECTS_DIR)
    (path / ".tmp-0123456789abcdef").write_bytes(b"half of something")


@pytest.mark.parametrize(
    "leave", [lambda p: None, _leave_manifest_only, _leave_objects_only, _leave_debris_only]
)
def test_init_never_writes_over_a_vault_missing_its_key_file(
    vault: Vault, vault_path: Path, tmp_path: Path, leave: object
) -> None:
    vault.put("session/a", b"Ada talked about the garden", purpose="session")
    (vault_path / KEY_FILE).rename(tmp_path / "moved-away.json")
    leave(vault_path)  # type: ignore[operator]
    before = tree_digest(vault_path)
    with pytest.raises(VaultError) as caught:
        Vault.create(vault_path, "a brand new passphrase", kdf=crypto.floor_kdf_params())
    assert KEY_FILE in caught.value.message and "reflect init" not in caught.value.message
    assert tree_digest(vault_path) == before
    assert not (vault_path / KEY_FILE).exists()


def test_opening_a_vault_missing_its_key_file_says_how_to_recover(
    vault: Vault, vault_path: Path, tmp_path: Path
) -> None:
    vault.put("session/a", b"x", purpose="session")
    (vault_path / KEY_FILE).rename(tmp_path / "moved-away.json")
    with pytest.raises(VaultError) as caught:
        Vault.open(vault_path, PASSPHRASE)
    message = caught.value.message
    assert KEY_FILE in message and "backup" in message and "reflect init" not in message
    # Putting the key file back is all it takes.
    (tmp_path / "moved-away.json").rename(vault_path / KEY_FILE)
    assert Vault.open(vault_path, PASSPHRASE).get("session/a") == b"x"


def test_an_interrupted_init_before_the_manifest_may_be_retried(tmp_path: Path) -> None:
    path = tmp_path / "v"
    (path / OBJECTS_DIR).mkdir(parents=True)
    (path / "lock").write_bytes(b"")
    Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params()).put("a", b"1")


# ---- the debris sweep ----------------------------------------------------------------------


def _sealed(key: bytes, purpose: str = "session") -> tuple[str, bytes]:
    object_id = crypto.new_object_id()
    return object_id.hex(), b"".join(crypto.seal(key, purpose, object_id, b"Bea's notes"))


def test_sweep_deletes_only_debris_it_can_prove_is_its_own(vault: Vault, vault_path: Path) -> None:
    vault.put("session/a", b"1", purpose="session")
    objects = vault_path / OBJECTS_DIR
    own_id, own = _sealed(vault._vault_key())
    foreign_id, foreign = _sealed(b"\x07" * crypto.KEY_SIZE)
    (objects / own_id).write_bytes(own)  # what a killed import of this vault leaves
    (objects / foreign_id).write_bytes(foreign)  # another vault's object, merged in by a sync
    (objects / ("ab" * 16)).write_bytes(b"not sealed by anyone we know")
    (objects / ".tmp-deadbeef").write_bytes(b"half written")
    (vault_path / ".tmp-cafebabe").write_bytes(b"half written")
    vault.put("session/b", b"2", purpose="session")
    names = object_names(vault_path)
    assert own_id not in names and ".tmp-deadbeef" not in names
    assert not (vault_path / ".tmp-cafebabe").exists()
    assert (objects / foreign_id).read_bytes() == foreign
    assert "ab" * 16 in names
    assert Vault.open(vault_path, PASSPHRASE).get("session/b") == b"2"


def test_sweep_refuses_a_manifest_of_another_vault_id(vault: Vault, vault_path: Path) -> None:
    vault.put("session/a", b"1", purpose="session")
    own_id, own = _sealed(vault._vault_key())
    (vault_path / OBJECTS_DIR / own_id).write_bytes(own)
    current = vault._current_manifest()
    vault._write_manifest(Manifest("f" * 32, current.generation, dict(current.objects)))
    with pytest.raises(VaultCorrupted):
        vault.put("session/b", b"2", purpose="session")
    assert own_id in object_names(vault_path)


# ---- a whole vault folder put back to an older copy ----------------------------------------


def _rolled_back(vault: Vault, vault_path: Path, tmp_path: Path) -> None:
    vault.put("session/a", b"1", purpose="session")
    shutil.copytree(vault_path, tmp_path / "old-copy")
    vault.put("session/b", b"2", purpose="session")
    vault.put("session/c", b"3", purpose="session")
    vault.close()
    shutil.rmtree(vault_path)
    shutil.copytree(tmp_path / "old-copy", vault_path)


def test_an_older_copy_of_the_whole_folder_is_noticed(
    vault: Vault, vault_path: Path, tmp_path: Path
) -> None:
    assert Vault.open(vault_path, PASSPHRASE).rolled_back is None
    _rolled_back(vault, vault_path, tmp_path)
    reopened = Vault.open(vault_path, PASSPHRASE)
    notice = reopened.rolled_back
    assert notice is not None and (notice.found, notice.seen) == (1, 3)
    assert "older copy" in notice.message
    # Still opens and works: the person may have put it back on purpose.
    assert reopened.names() == ["session/a"]
    # Writing to the old copy doesn't hide it; only accepting it does.
    reopened.put("session/d", b"4", purpose="session")
    assert Vault.open(vault_path, PASSPHRASE).rolled_back is not None
    reopened.accept_rollback()
    assert Vault.open(vault_path, PASSPHRASE).rolled_back is None


def test_the_record_of_generations_cannot_be_forged_without_the_key(
    vault: Vault, vault_path: Path
) -> None:
    from reflect import local_state

    vault.put("session/a", b"1", purpose="session")
    record = local_state.seen_file()
    data = json.loads(record.read_text())
    data["vaults"][vault.vault_id]["generation"] = 999  # someone without the passphrase
    record.write_text(json.dumps(data))
    assert Vault.open(vault_path, PASSPHRASE).rolled_back is None


def test_the_record_holds_no_session_data(vault: Vault, vault_path: Path) -> None:
    from reflect import local_state

    vault.put("session/Ada and the garden", b"Ada talked about the garden", purpose="session")
    text = local_state.seen_file().read_text()
    assert "garden" not in text and "session" not in text


# ---- a key file whose vault id was changed -------------------------------------------------


def test_a_changed_vault_id_is_not_reported_as_a_wrong_passphrase(
    vault: Vault, vault_path: Path
) -> None:
    key_file = _KeyFile.load(vault_path / KEY_FILE)
    key_file.vault_id = "0" * 32
    (vault_path / KEY_FILE).write_bytes(key_file.encode())  # checksum made to match
    with pytest.raises(VaultCorrupted) as caught:
        Vault.open(vault_path, PASSPHRASE)
    assert "vault id" in caught.value.message and KEY_FILE in caught.value.message
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, "not the passphrase at all")


# ---- waiting for the writer lock -----------------------------------------------------------


def test_waiting_for_the_writer_lock_says_what_it_waits_for(
    vault: Vault, vault_path: Path
) -> None:
    holder = Vault.open(vault_path, PASSPHRASE)
    holder.activity = "import"
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction() as tx:
            tx.put("session/a", b"1", purpose="session")
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    heard: list[str | None] = []
    vault.on_lock_wait = heard.append
    threading.Timer(1.5, release.set).start()
    started = time.monotonic()
    vault.put("session/b", b"2", purpose="session")
    thread.join()
    assert time.monotonic() - started >= 1.0
    assert heard == ["import"]
    assert vault.names() == ["session/a", "session/b"]


def test_no_wait_no_message(vault: Vault) -> None:
    heard: list[str | None] = []
    vault.on_lock_wait = heard.append
    vault.put("session/a", b"1", purpose="session")
    assert heard == []
