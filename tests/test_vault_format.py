"""Format stability: a vault written by reflect 0.1 must open with its passphrase forever."""

from __future__ import annotations

import shutil
from pathlib import Path

from reflect.vault import Vault

FIXTURE = Path(__file__).parent / "fixtures" / "vault-v1"
FIXTURE_PASSPHRASE = "known answer fixture v1"


def test_known_answer_vault_opens_and_reads_back(tmp_path: Path) -> None:
    copy = tmp_path / "vault"
    shutil.copytree(FIXTURE, copy)  # a copy: opening must never need to write, but be safe
    v = Vault.open(copy, FIXTURE_PASSPHRASE)
    assert v.names() == ["chunked", "empty", "hello"]
    assert v.generation == 2
    assert v.get("hello") == "reflect vault format 1 ✓ (second generation)".encode()
    assert v.get("chunked") == bytes(range(256)) * 1000
    assert v.get("empty") == b""
    st = v.status()
    assert (st.format_version, st.kdf.memory_kib, st.kdf.iterations) == (1, 65536, 3)
