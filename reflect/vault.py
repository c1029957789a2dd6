"""The encrypted vault: a folder that holds everything reflect knows, sealed.

Layout of a vault folder:
    reflect-vault.json   format version, Argon2id settings, the wrapped vault key
    manifest             sealed: generation counter and name -> object entry map
    objects/<random id>  sealed objects (file names are random: never titles or dates)
    lock                 advisory lock held by the one process writing at a time

Writes are copy-on-write: a transaction seals new object files, then replaces the manifest
atomically, then deletes the objects it superseded. A crash at any instant leaves the old
manifest (whose objects are all still there) or the new one. Files the manifest doesn't
name are debris of an interrupted write and are swept by the next writer, but only those
this vault's key proves it wrote: an object it can't attribute may belong to another vault
(merged in by a sync tool) and is left alone.

The manifest records each object's SHA-256 and the generation that wrote it, so a deleted
object, two swapped files or one object rolled back to an older copy are all noticed. A
whole folder put back to an older copy is consistent with itself; the newest generation seen
on this computer, kept outside the vault (`reflect.local_state`), is what notices that.

A folder holding a manifest, objects or debris but no key file is a vault whose key file
went missing: it is never initialised over, and opening it says to put the key file back.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from reflect import crypto, local_state, schema
from reflect.errors import (
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultKeyFileMissing,
    VaultLocked,
    VaultNotFound,
    VaultTooNew,
    WrongPassphrase,
)
from reflect.fsutil import TEMP_PREFIX, atomic_write, ensure_private_dir, fsync_dir

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; reflect is single-writer there by convention
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
KEY_FILE = "reflect-vault.json"
MANIFEST_FILE = "manifest"
OBJECTS_DIR = "objects"
LOCK_FILE = "lock"
_MANIFEST_PURPOSE = "manifest"
_MANIFEST_ID = b"\x00" * crypto.OBJECT_ID_SIZE
_OWN_ENTRIES = {KEY_FILE, MANIFEST_FILE, OBJECTS_DIR, LOCK_FILE}
_OBJECT_NAME = re.compile(r"[0-9a-f]{32}")
# Waiting on another writer is silent this long, so a short commit goes unremarked.
LOCK_WAIT_NOTICE_SECONDS = 0.5
_LOCK_POLL_SECONDS = 0.05


def normalize_passphrase(passphrase: str) -> bytes:
    """NFC first: the same passphrase typed on two keyboards may differ in composition."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    object_id: str
    purpose: str
    sha256: str
    size: int
    generation: int


@dataclass(slots=True)
class Manifest:
    vault_id: str
    generation: int
    objects: dict[str, ObjectEntry] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "vault_id": self.vault_id,
                "generation": self.generation,
                "objects": {
                    name: [e.object_id, e.purpose, e.sha256, e.size, e.generation]
                    for name, e in self.objects.items()
                },
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """Raises ValueError when `data` is not a manifest."""
        d = schema.load(data, {"format": schema.optional(int)}, _not_a_manifest)
        if (d.get("format") or 0) > FORMAT_VERSION:
            raise VaultTooNew("This vault was written by a newer version of reflect.")
        schema.require(d, _MANIFEST_SCHEMA, _not_a_manifest)
        return cls(
            vault_id=d["vault_id"],
            generation=d["generation"],
            objects={name: ObjectEntry(*entry) for name, entry in d["objects"].items()},
        )


_MANIFEST_SCHEMA = {
    "vault_id": str,
    "generation": schema.natural,
    # object id, purpose, sha256, size, generation
    "objects": schema.dict_of(
        schema.row(schema.hex_string, str, schema.hex_string, schema.natural, schema.natural)
    ),
}


def _not_a_manifest() -> ValueError:
    return ValueError("not a manifest")


@dataclass(frozen=True, slots=True)
class RolledBack:
    """The vault opened at an older generation than this computer last saw it at."""

    found: int
    seen: int

    @property
    def message(self) -> str:
        return (
            "This vault is an older copy than the one reflect last opened on this computer, "
            "so sessions or changes made since may be missing. If you put the older copy "
            "back on purpose, all is well and this note won't appear again; if not, look "
            "for the newer copy (in your sync or backup tool's history) before changing "
            "anything."
        )


def missing_vault_error(path: Path) -> VaultError:
    """Why there is no vault to open in `path`: none at all, or one whose key file is gone."""
    if Vault.key_file_missing(path):
        return VaultKeyFileMissing(
            f"The vault in {path} is missing its key file, {KEY_FILE}, so it can't be opened. "
            "Put that file back from a backup or from wherever it was moved; reflect won't "
            "create a new vault over this one."
        )
    return VaultNotFound(f"There is no reflect vault in {path}. Create one with `reflect init`.")


@dataclass(frozen=True, slots=True)
class VaultStatus:
    path: Path
    format_version: int
    vault_id: str
    generation: int
    object_count: int
    size_bytes: int
    kdf: crypto.KdfParams


class _KeyFile:
    """The only unsealed file: KDF settings and the wrapped key. Holds no secrets in clear.

    A checksum over the file lets reflect tell "damaged" from "wrong passphrase".
    """

    def __init__(self, vault_id: str, kdf: crypto.KdfParams, nonce: bytes, wrapped: bytes):
        self.vault_id = vault_id
        self.kdf = kdf
        self.nonce = nonce
        self.wrapped = wrapped

    def associated_data(self) -> bytes:
        return json.dumps(
            {"format": FORMAT_VERSION, "vault_id": self.vault_id, "kdf": self.kdf.to_json()},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def _body(self) -> dict[str, Any]:
        return {
            "reflect_vault": FORMAT_VERSION,
            "vault_id": self.vault_id,
            "kdf": self.kdf.to_json(),
            "key_wrap": {
                "algorithm": "aes-256-gcm",
                "nonce": self.nonce.hex(),
                "wrapped_key": self.wrapped.hex(),
            },
        }

    @staticmethod
    def _checksum(body: dict[str, Any]) -> str:
        return hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

    def encode(self) -> bytes:
        body = self._body()
        body["checksum"] = self._checksum(body)
        return (json.dumps(body, indent=2) + "\n").encode()

    @classmethod
    def load(cls, path: Path) -> _KeyFile:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise missing_vault_error(path.parent) from None
        except OSError as e:
            raise VaultError(f"Can't read the vault's key file: {e.strerror}.") from None
        damaged = VaultCorrupted(
            "The vault's key file is damaged, so the vault can't be opened. "
            "Restore it from a backup (`reflect restore`)."
        )
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise damaged from None
        schema.require(body, {"reflect_vault": int}, lambda: damaged)
        version = body["reflect_vault"]
        if version > FORMAT_VERSION:
            raise VaultTooNew(
                f"This vault uses format {version}, made by a newer version of reflect. "
                "Update reflect to open it."
            )
        checksum = body.pop("checksum", None)
        if checksum != cls._checksum(body):
            raise damaged
        schema.require(body, _KEY_FILE_SCHEMA, lambda: damaged)
        wrap = body["key_wrap"]
        if wrap["algorithm"] != "aes-256-gcm":
            raise VaultTooNew("This vault uses a key algorithm this reflect doesn't know.")
        return cls(
            body["vault_id"],
            crypto.KdfParams.from_json(body["kdf"]),
            bytes.fromhex(wrap["nonce"]),
            bytes.fromhex(wrap["wrapped_key"]),
        )


_KEY_FILE_SCHEMA = {
    "reflect_vault": int,
    "vault_id": str,
    "kdf": crypto.KDF_SCHEMA,
    "key_wrap": {"algorithm": str, "nonce": schema.hex_string, "wrapped_key": schema.hex_string},
}


class Vault:
    """An open (unlocked) vault. Create with `Vault.create` or `Vault.open`."""

    def __init__(self, path: Path, key_file: _KeyFile, vault_key: bytes) -> None:
        self.path = path
        self._key_file = key_file
        self._key: bytearray | None = bytearray(vault_key)
        self._manifest: Manifest | None = None
        self._manifest_stamp: tuple[int, int, int] | None = None
        # One transaction at a time in this process: the app's workers write from several
        # threads, and each must wait its turn (the file lock below only orders processes).
        self._transaction_turn = threading.Lock()
        self._transaction_thread: int | None = None
        # Set when the vault opened older than this computer last saw it (see `open`).
        self.rolled_back: RolledBack | None = None
        # A word or two saying what this process does ("import"), for others waiting on it,
        # and who to tell, with their word, when this process must wait for another.
        self.activity: str | None = None
        self.on_lock_wait: Callable[[str | None], None] | None = None
        self._unattributable: set[str] = set()  # objects a sweep found aren't provably ours

    # ---- creating and opening -------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        return (path / KEY_FILE).is_file()

    @staticmethod
    def key_file_missing(path: Path) -> bool:
        """The folder holds a vault's manifest, objects or debris, but no key file."""
        path = Path(path)
        if (path / KEY_FILE).exists():
            return False
        try:
            entries = os.listdir(path)
        except OSError:
            return False
        if MANIFEST_FILE in entries or any(n.startswith(TEMP_PREFIX) for n in entries):
            return True
        try:
            return bool(os.listdir(path / OBJECTS_DIR))
        except OSError:
            return False

    @classmethod
    def check_can_create(cls, path: Path) -> None:
        """Refuse a folder that is, or was, a vault, or that holds anything else."""
        path = Path(path)
        if cls.exists(path):
            raise VaultExists(f"A vault already exists in {path}; reflect won't overwrite it.")
        if cls.key_file_missing(path):
            raise missing_vault_error(path)
        if path.exists():
            strangers = [
                p.name
                for p in path.iterdir()
                if p.name not in _OWN_ENTRIES and not p.name.startswith(TEMP_PREFIX)
            ]
            if strangers:
                raise VaultExists(
                    f"{path} already holds other files; choose an empty or new folder."
                )

    @classmethod
    def create(cls, path: Path, passphrase: str, *, kdf: crypto.KdfParams | None = None) -> Vault:
        path = Path(path)
        cls.check_can_create(path)
        if not passphrase:
            raise VaultError("The passphrase can't be empty.")
        kdf = kdf or crypto.tune_kdf_params()
        ensure_private_dir(path)
        ensure_private_dir(path / OBJECTS_DIR)
        os.close(os.open(path / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600))
        vault_key = secrets.token_bytes(crypto.KEY_SIZE)
        vault_id = secrets.token_hex(16)
        key_file = _KeyFile(vault_id, kdf, b"", b"")
        key_file.nonce, key_file.wrapped = crypto.wrap_key(
            kdf.derive(normalize_passphrase(passphrase)), vault_key, key_file.associated_data()
        )
        vault = cls(path, key_file, vault_key)
        vault._write_manifest(Manifest(vault_id, 0))
        # The key file goes last: its presence is what makes the folder a vault.
        atomic_write(path / KEY_FILE, key_file.encode())
        return vault

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Vault:
        path = Path(path)
        key_file = _KeyFile.load(path / KEY_FILE)
        kek = key_file.kdf.derive(normalize_passphrase(passphrase))
        vault_key = crypto.unwrap_key(
            kek, key_file.nonce, key_file.wrapped, key_file.associated_data()
        )
        if vault_key is None:
            raise _unwrap_failure(kek, key_file)
        vault = cls(path, key_file, vault_key)
        vault._check_complete()
        vault._compare_with_seen()
        return vault

    def _compare_with_seen(self) -> None:
        generation = self.generation
        seen = local_state.seen_generation(self.vault_id, self._seen_key())
        if seen is not None and generation < seen:
            self.rolled_back = RolledBack(found=generation, seen=seen)
        else:
            self._note_generation(generation)

    def accept_rollback(self) -> None:
        """The person knows this is an older copy: stop saying so (here and next time)."""
        local_state.record_generation(
            self.vault_id, self.generation, self._seen_key(), newer_only=False
        )
        self.rolled_back = None

    def _note_generation(self, generation: int) -> None:
        local_state.record_generation(self.vault_id, generation, self._seen_key(), newer_only=True)

    def _seen_key(self) -> bytes:
        return local_state.mac_key(self._vault_key())

    def _check_complete(self) -> None:
        """Notice deleted objects at unlock rather than in the middle of a search."""
        for _attempt in (1, 2):
            manifest = self._current_manifest()
            if manifest.vault_id != self._key_file.vault_id:
                raise VaultCorrupted("The vault's manifest belongs to a different vault.")
            try:
                present = set(os.listdir(self.path / OBJECTS_DIR))
            except FileNotFoundError:
                present = set()
            missing = [e for e in manifest.objects.values() if e.object_id not in present]
            if not missing:
                return
            self._manifest = None  # a writer may have committed meanwhile; look again
        raise VaultCorrupted(
            f"{len(missing)} part(s) of the vault are missing (deleted, or not fully synced). "
            "Restore it from a backup (`reflect restore`)."
        )

    def close(self) -> None:
        """Forget the key (best effort: Python may hold copies we can't reach)."""
        if self._key is not None:
            for i in range(len(self._key)):
                self._key[i] = 0
        self._key = None
        self._manifest = None

    lock = close

    @property
    def is_open(self) -> bool:
        return self._key is not None

    @property
    def vault_id(self) -> str:
        return self._key_file.vault_id

    def ensure_open(self) -> None:
        if self._key is None:
            raise VaultLocked("The vault is locked. Unlock it with your passphrase.")

    def _vault_key(self) -> bytes:
        self.ensure_open()
        assert self._key is not None
        return bytes(self._key)

    # ---- the manifest --------------------------------------------------------------

    def _manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    def _current_manifest(self) -> Manifest:
        """The manifest on disk, re-read only when another process has replaced it."""
        key = self._vault_key()
        try:
            st = os.stat(self._manifest_path())
        except FileNotFoundError:
            raise VaultCorrupted(
                "The vault's manifest is missing, so its contents can't be trusted. "
                "Restore it from a backup (`reflect restore`)."
            ) from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._manifest is None or stamp != self._manifest_stamp:
            blob = self._manifest_path().read_bytes()
            data = crypto.open_sealed(
                key, _MANIFEST_PURPOSE, blob, expected_id=_MANIFEST_ID, what="The vault's manifest"
            )
            try:
                manifest = Manifest.decode(data)
            except (ValueError, KeyError, TypeError):
                raise VaultCorrupted("The vault's manifest is unreadable.") from None
            self._manifest, self._manifest_stamp = manifest, stamp
        assert self._manifest is not None
        return self._manifest

    def _write_manifest(self, manifest: Manifest) -> None:
        atomic_write(
            self._manifest_path(),
            crypto.seal(self._vault_key(), _MANIFEST_PURPOSE, _MANIFEST_ID, manifest.encode()),
        )
        st = os.stat(self._manifest_path())
        self._manifest = manifest
        self._manifest_stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        self._note_generation(manifest.generation)

    # ---- reading ---------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._current_manifest().generation

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._current_manifest().objects if n.startswith(prefix))

    def __contains__(self, name: str) -> bool:
        return name in self._current_manifest().objects

    def get(self, name: str) -> bytes:
        """The plaintext of object `name`; KeyError if the vault has no such object."""
        for attempt in (1, 2):
            entry = self._current_manifest().objects[name]
            try:
                return self._read_object(entry)
            except FileNotFoundError:
                # A writer may have replaced this object since we read the manifest.
                self._manifest = None
                if attempt == 2:
                    break
        raise VaultCorrupted(
            "A part of the vault is missing (deleted, or not fully synced). "
            "Restore it from a backup (`reflect restore`)."
        )

    def open_stream(self, name: str) -> BinaryIO:
        """Object `name` as a seekable binary file that decrypts only what is read.

        Unlike `get`, the whole-file hash in the manifest is not checked (that needs the
        whole file): each chunk's own authentication stands in for it, and object ids are
        never reused, so an older copy of the file cannot pose as this one. For recordings,
        where a few seconds are wanted out of an hour. KeyError if there is no such object.
        """
        entry = self._current_manifest().objects[name]
        try:
            file = self._object_path(entry.object_id).open("rb")
        except FileNotFoundError:
            raise VaultCorrupted(
                "A part of the vault is missing (deleted, or not fully synced). "
                "Restore it from a backup (`reflect restore`)."
            ) from None
        try:
            raw = crypto.SealedReader(
                self._vault_key(),
                entry.purpose,
                file,
                size=entry.size,
                expected_id=bytes.fromhex(entry.object_id),
                what=f"Vault object {entry.object_id[:8]}",
            )
        except BaseException:
            file.close()
            raise
        return io.BufferedReader(raw, buffer_size=crypto.DEFAULT_CHUNK_SIZE)

    def _object_path(self, object_id: str) -> Path:
        return self.path / OBJECTS_DIR / object_id

    def _sealed_here(self, path: Path, purposes: Iterable[str]) -> bool:
        """Whether this vault's key sealed the object file at `path` (debris it may delete)."""
        if not _OBJECT_NAME.fullmatch(path.name):
            return False
        try:
            with path.open("rb") as f:
                return crypto.sealed_under(
                    self._vault_key(), purposes, f, expected_id=bytes.fromhex(path.name)
                )
        except OSError:
            return False

    def _read_object(self, entry: ObjectEntry) -> bytes:
        blob = self._object_path(entry.object_id).read_bytes()
        what = f"Vault object {entry.object_id[:8]}"
        if hashlib.sha256(blob).hexdigest() != entry.sha256:
            raise VaultCorrupted(
                f"{what} was changed or replaced by an older copy. "
                "Restore the vault from a backup (`reflect restore`)."
            )
        return crypto.open_sealed(
            self._vault_key(),
            entry.purpose,
            blob,
            expected_id=bytes.fromhex(entry.object_id),
            what=what,
        )

    # ---- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """All-or-nothing changes: either every put/delete in the block lands, or none."""
        if self._transaction_thread == threading.get_ident():
            raise VaultError("A vault transaction is already running in this process.")
        self._vault_key()
        with self._transaction_turn, self._writer_lock():
            self._transaction_thread = threading.get_ident()
            self._manifest = None  # another writer may have committed while we waited
            tx = Transaction(self, self._current_manifest())
            try:
                tx._sweep_debris()
                yield tx
                tx._commit()
            except BaseException:
                tx._abort()
                raise
            finally:
                self._transaction_thread = None

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._wait_for_lock(fd)
            local_state.note_activity(self.vault_id, self.activity)
            try:
                yield
            finally:
                local_state.note_activity(self.vault_id, None)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _wait_for_lock(self, fd: int) -> None:
        """Take the lock; if another writer keeps it past a moment, say so once, then wait."""
        give_notice_at = time.monotonic() + LOCK_WAIT_NOTICE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if time.monotonic() >= give_notice_at:
                if self.on_lock_wait is not None:
                    self.on_lock_wait(local_state.activity_of(self.vault_id))
                fcntl.flock(fd, fcntl.LOCK_EX)
                return
            time.sleep(_LOCK_POLL_SECONDS)

    def put(self, name: str, data: bytes, *, purpose: str = "data") -> None:
        with self.transaction() as tx:
            tx.put(name, data, purpose=purpose)

    def delete(self, name: str) -> None:
        with self.transaction() as tx:
            tx.delete(name)

    # ---- passphrase and status ----------------------------------------------------------

    def change_passphrase(
        self, new_passphrase: str, *, kdf: crypto.KdfParams | None = None
    ) -> None:
        """Re-wrap the vault key under a new passphrase. No object is rewritten."""
        if not new_passphrase:
            raise VaultError("The passphrase can't be empty.")
        vault_key = self._vault_key()
        kdf = kdf or crypto.tune_kdf_params()
        with self._writer_lock():
            new = _KeyFile(self.vault_id, kdf, b"", b"")
            new.nonce, new.wrapped = crypto.wrap_key(
                kdf.derive(normalize_passphrase(new_passphrase)), vault_key, new.associated_data()
            )
            atomic_write(self.path / KEY_FILE, new.encode())
            self._key_file = new

    def status(self) -> VaultStatus:
        manifest = self._current_manifest()
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return VaultStatus(
            path=self.path,
            format_version=FORMAT_VERSION,
            vault_id=self.vault_id,
            generation=manifest.generation,
            object_count=len(manifest.objects),
            size_bytes=size,
            kdf=self._key_file.kdf,
        )


class Transaction:
    def __init__(self, vault: Vault, base: Manifest) -> None:
        self._vault = vault
        self._base = base
        self._objects = dict(base.objects)
        self._generation = base.generation + 1
        self._written: list[str] = []  # object ids sealed by this transaction
        self._changed = False

    def put(self, name: str, data: bytes | Iterable[bytes], *, purpose: str = "data") -> None:
        object_id = crypto.new_object_id()
        hasher = hashlib.sha256()
        size = 0

        def counted(chunks: Iterable[bytes]) -> Iterator[bytes]:
            nonlocal size
            for c in chunks:
                size += len(c)
                yield c

        def hashed(blob_pieces: Iterable[bytes]) -> Iterator[bytes]:
            for piece in blob_pieces:
                hasher.update(piece)
                yield piece

        source = counted([data] if isinstance(data, bytes) else data)
        hex_id = object_id.hex()
        self._written.append(hex_id)
        atomic_write(
            self._vault._object_path(hex_id),
            hashed(crypto.seal(self._vault._vault_key(), purpose, object_id, source)),
        )
        self._objects[name] = ObjectEntry(
            hex_id, purpose, hasher.hexdigest(), size, self._generation
        )
        self._changed = True

    def delete(self, name: str) -> None:
        if self._objects.pop(name, None) is not None:
            self._changed = True

    def get(self, name: str) -> bytes:
        entry = self._objects[name]
        return self._vault._read_object(entry)

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._objects if n.startswith(prefix))

    def __contains__(self, name: str) -> bool:
        return name in self._objects

    def _commit(self) -> None:
        if not self._changed:
            return
        fsync_dir(self._vault.path / OBJECTS_DIR)
        manifest = Manifest(self._base.vault_id, self._generation, self._objects)
        self._vault._write_manifest(manifest)
        live = {e.object_id for e in self._objects.values()}
        for entry in self._base.objects.values():
            if entry.object_id not in live:
                with contextlib.suppress(FileNotFoundError):
                    self._vault._object_path(entry.object_id).unlink()

    def _abort(self) -> None:
        for object_id in self._written:
            with contextlib.suppress(FileNotFoundError):
                self._vault._object_path(object_id).unlink()

    def _sweep_debris(self) -> None:
        """Delete what an interrupted writer of this vault left: its temp files, and objects
        the manifest doesn't name that this vault's key proves it sealed. Anything else stays:
        a sweep must never delete what another vault's manifest could own."""
        vault = self._vault
        if self._base.vault_id != vault.vault_id:
            raise VaultCorrupted("The vault's manifest belongs to a different vault.")
        live = {e.object_id for e in self._base.objects.values()}
        purposes = {e.purpose for e in self._base.objects.values()} | {"data"}
        objects_dir = vault.path / OBJECTS_DIR
        for folder in (vault.path, objects_dir):
            for p in folder.iterdir():
                if p.name.startswith(TEMP_PREFIX):
                    debris = True
                elif folder != objects_dir or p.name in live or p.name in vault._unattributable:
                    continue
                else:
                    debris = vault._sealed_here(p, purposes)
                    if not debris:
                        vault._unattributable.add(p.name)
                if debris:
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()


def _unwrap_failure(kek: bytes, key_file: _KeyFile) -> VaultError:
    """Wrong passphrase, unless the key unwraps under a vault id this computer has seen: then
    the passphrase is right and someone changed the vault id in the key file."""
    for other in local_state.known_vault_ids():
        if other == key_file.vault_id:
            continue
        original = _KeyFile(other, key_file.kdf, key_file.nonce, key_file.wrapped)
        if crypto.unwrap_key(kek, key_file.nonce, key_file.wrapped, original.associated_data()):
            return VaultCorrupted(
                f"The vault's key file, {KEY_FILE}, was altered (its vault id was changed), so "
                "reflect won't open it. Put that file back from a backup.",
                title="Key file altered",
            )
    return WrongPassphrase("That passphrase doesn't open this vault.")
