"""Hostile bytes where vault files should be: only the documented errors, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflect import crypto
from reflect.backup import read_backup
from reflect.errors import ReflectError
from reflect.vault import KEY_FILE, MANIFEST_FILE, Vault
from tests.conftest import PASSPHRASE

KEY = os.urandom(32)
OBJECT_ID = os.urandom(16)
VALID = b"".join(crypto.seal(KEY, "data", OBJECT_ID, os.urandom(150_000)))

fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.binary(max_size=4096))
def test_random_bytes_as_sealed_object(blob: bytes) -> None:
    with pytest.raises(ReflectError):
        crypto.open_sealed(KEY, "data", blob, expected_id=OBJECT_ID, what="object")


@fuzz
@given(st.data())
def test_mutated_sealed_object(data: st.DataObject) -> None:
    blob = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(blob)))
    with pytest.raises(ReflectError):
        crypto.open_sealed(
            KEY,
            "data",
            bytes(blob[:cut] if cut < len(blob) else blob),
            expected_id=OBJECT_ID,
            what="object",
        )


@pytest.fixture(scope="module")
def vault_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzzvault") / "vault"
    v = Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    v.put("x", b"content")
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(which=st.sampled_from([KEY_FILE, MANIFEST_FILE]), content=st.binary(max_size=2048))
def test_random_key_file_or_manifest(
    vault_template: Path, tmp_path: Path, which: str, content: bytes
) -> None:
    import shutil

    target = tmp_path / f"v{os.urandom(4).hex()}"
    shutil.copytree(vault_template, target)
    (target / which).write_bytes(content)
    with pytest.raises(ReflectError):
        Vault.open(target, PASSPHRASE).get("x")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.dictionaries(
        st.sampled_from(["reflect_vault", "vault_id", "kdf", "key_wrap", "checksum"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=20),
            st.dictionaries(st.text(max_size=8), st.integers()),
        ),
    )
)
def test_structured_garbage_key_file(vault_template: Path, tmp_path: Path, body: dict) -> None:  # type: ignore[type-arg]
    import shutil

    target = tmp_path / f"v{os.urandom(4).hex()}"
    shutil.copytree(vault_template, target)
    (target / KEY_FILE).write_text(json.dumps(body))
    with pytest.raises(ReflectError):
        Vault.open(target, PASSPHRASE)


@fuzz
@given(st.binary(max_size=2048))
def test_random_backup_file(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    path = tmp_path_factory.mktemp("bk") / "b.bin"
    path.write_bytes(b"RFLBAK" + blob if blob[:1] == b"\x00" else blob)
    with pytest.raises(ReflectError):
        list(read_backup(path, "any passphrase at all"))
