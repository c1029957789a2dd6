"""Every structure reflect reads is checked field by field before use: a field of the wrong
type is one calm "damaged" error, never a traceback; key settings are capped."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto
from reflect.backup import read_backup
from reflect.errors import ReflectError, VaultCorrupted, VaultTooNew
from reflect.service import Reflect
from reflect.vault import Vault
from tests.conftest import PASSPHRASE
from tests.test_vault import edit_key_file

BACKUP_PASS = "the backup's own passphrase"

WRONG_TYPES: list[tuple[str, Any]] = [
    ("kdf", "argon2id"),
    ("kdf", None),
    ("kdf", ["argon2id"]),
    ("kdf.memory_kib", "65536"),
    ("kdf.memory_kib", 65536.5),
    ("kdf.memory_kib", True),
    ("kdf.iterations", None),
    ("kdf.lanes", {}),
    ("kdf.salt", 12),
    ("kdf.salt", "not hex at all!"),
    ("kdf.algorithm", ["argon2id"]),
]


def _set(body: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for key in path:
        body = body[key]
    body[last] = value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *WRONG_TYPES,
        ("vault_id", 7),
        ("key_wrap", "aes"),
        ("key_wrap.nonce", 5),
        ("key_wrap.wrapped_key", None),
        ("key_wrap.algorithm", 1),
        ("reflect_vault", "1"),
    ],
)
def test_key_file_field_of_the_wrong_type(
    vault: Vault, vault_path: Path, field: str, value: Any
) -> None:
    edit_key_file(vault_path, lambda b: _set(b, field, value), fix_checksum=True)
    with pytest.raises(VaultCorrupted, match="key file is damaged"):
        Vault.open(vault_path, PASSPHRASE)


def test_key_file_that_is_not_an_object(vault_path: Path, vault: Vault) -> None:
    (vault_path / "reflect-vault.json").write_text("[1, 2, 3]")
    with pytest.raises(VaultCorrupted, match="key file is damaged"):
        Vault.open(vault_path, PASSPHRASE)


@pytest.fixture
def backup_file(tmp_path: Path) -> Path:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    target = tmp_path / "b.reflect-backup"
    service.backup(target, BACKUP_PASS, kdf=crypto.floor_kdf_params())
    service.lock()
    return target


def rewrite_backup_header(target: Path, change: Any) -> None:
    prefix = struct.Struct(">6sHI")
    data = target.read_bytes()
    magic, version, length = prefix.unpack_from(data)
    header = json.loads(data[prefix.size : prefix.size + length])
    header = change(header)
    raw = json.dumps(header).encode()
    target.write_bytes(prefix.pack(magic, version, len(raw)) + raw + data[prefix.size + length :])


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_backup_header_field_of_the_wrong_type(
    backup_file: Path, field: str, value: Any
) -> None:
    def change(header: dict[str, Any]) -> dict[str, Any]:
        _set(header, field, value)
        return header

    rewrite_backup_header(backup_file, change)
    with pytest.raises(VaultCorrupted, match="is damaged"):
        list(read_backup(backup_file, BACKUP_PASS))


@pytest.mark.parametrize("header", [[], "kdf", 3, None])
def test_backup_header_that_is_not_an_object(backup_file: Path, header: Any) -> None:
    rewrite_backup_header(backup_file, lambda _: header)
    with pytest.raises(VaultCorrupted, match="is damaged"):
        list(read_backup(backup_file, BACKUP_PASS))


# Within the old ceiling (4 GiB, 64 passes) but far beyond anything `init` picks: opening
# would take minutes and gigabytes before failing.
EXPENSIVE = [("memory_kib", 1024 * 1024), ("iterations", 40), ("lanes", 64)]


@pytest.mark.parametrize(("field", "value"), EXPENSIVE)
def test_key_settings_beyond_what_init_chooses_are_refused_at_once(
    vault: Vault, vault_path: Path, field: str, value: int
) -> None:
    edit_key_file(vault_path, lambda b: b["kdf"].__setitem__(field, value), fix_checksum=True)
    started = time.monotonic()
    with pytest.raises(VaultCorrupted, match="256 MiB") as caught:
        Vault.open(vault_path, PASSPHRASE)
    assert time.monotonic() - started < 2
    assert "tampered" in caught.value.message


@pytest.mark.parametrize(("field", "value"), EXPENSIVE)
def test_backup_settings_beyond_what_init_chooses_are_refused(
    backup_file: Path, field: str, value: int
) -> None:
    def change(header: dict[str, Any]) -> dict[str, Any]:
        header["kdf"][field] = value
        return header

    rewrite_backup_header(backup_file, change)
    started = time.monotonic()
    with pytest.raises(ReflectError, match="256 MiB"):
        list(read_backup(backup_file, BACKUP_PASS))
    assert time.monotonic() - started < 2


def test_init_never_chooses_more_than_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine a hundred times faster than the floor settings assume."""
    real = crypto.Argon2id

    class Instant:
        def __init__(self, **kwargs: Any) -> None:
            self.inner = real(**kwargs)

        def derive(self, data: bytes) -> bytes:
            return b"\0" * 32

    monkeypatch.setattr(crypto, "Argon2id", Instant)
    params = crypto.tune_kdf_params()
    params.check_bounds()
    assert params.memory_kib == crypto.KDF_MAX_MEMORY_KIB
    assert params.iterations == crypto.KDF_MAX_ITERATIONS


@pytest.mark.parametrize("version", [0, 257, 0x8001])
def test_a_damaged_backup_version_says_damaged(backup_file: Path, version: int) -> None:
    data = bytearray(backup_file.read_bytes())
    data[6:8] = version.to_bytes(2, "big")
    backup_file.write_bytes(bytes(data))
    with pytest.raises(VaultCorrupted, match="is damaged"):
        list(read_backup(backup_file, BACKUP_PASS))


def test_a_backup_from_a_newer_reflect_says_so(backup_file: Path) -> None:
    data = bytearray(backup_file.read_bytes())
    data[6:8] = (2).to_bytes(2, "big")
    backup_file.write_bytes(bytes(data))
    with pytest.raises(VaultTooNew, match="newer reflect"):
        list(read_backup(backup_file, BACKUP_PASS))
