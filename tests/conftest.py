from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.vault import Vault

PASSPHRASE = "a quiet harbour at dawn"


@pytest.fixture(scope="session", autouse=True)
def isolated_state_for_shared_fixtures(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Vaults made once per module or run (the app tests' template) are made before any
    test's own folders exist: what reflect remembers about them stays out of the real ones."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("shared-state")))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own HOME data/config/state folders; none touches the real ones.

    The cache folder is left alone on purpose: it holds only the assembled bundled model.
    """
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    for var in ("REFLECT_VAULT", "REFLECT_PASSPHRASE", "REFLECT_PASSPHRASE_FILE", "REFLECT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True)
def fake_embedder_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests embed with the deterministic fake; integration tests pass the real model."""
    from reflect import service
    from reflect.testing import FakeEmbedder

    monkeypatch.setattr(service, "_default_embedder_factory", FakeEmbedder)


@pytest.fixture(autouse=True)
def fake_transcriber_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recordings are transcribed by a deterministic fake unless a test brings Whisper."""
    from reflect import service
    from reflect.testing import FakeTranscriber

    monkeypatch.setattr(service, "_default_transcriber_factory", lambda folder: FakeTranscriber())


@pytest.fixture
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vaults made through the CLI use the floor Argon2id settings instead of tuning (~0.3 s)."""
    monkeypatch.setattr(crypto, "tune_kdf_params", lambda *a, **k: crypto.floor_kdf_params())


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(vault_path: Path) -> Iterator[Vault]:
    v = Vault.create(vault_path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    yield v
    v.close()


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def grep_tree(root: Path, needles: list[bytes]) -> list[Path]:
    hits = []
    for p in all_files(root):
        try:
            data = p.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            hits.append(p)
    return hits


def tree_digest(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(all_files(root))}


@pytest.fixture(scope="session")
def mono() -> Any:
    """The invented two-voice session mixed to one channel, decoded (16 kHz)."""
    from reflect.audio import decode
    from tests.audio_fixtures import fixture

    return decode(fixture("session_mono.ogg"))


@pytest.fixture(scope="session")
def stereo() -> Any:
    """The same session with each voice on its own channel, decoded (16 kHz)."""
    from reflect.audio import decode
    from tests.audio_fixtures import fixture

    return decode(fixture("session_stereo.opus"))


os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cli_output(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0
) -> tuple[str, str]:
    """Run `reflect ARGV`, check its exit code, and return what it printed (stdout, stderr)."""
    capsys.readouterr()
    assert main(argv) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.fixture
def env_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A locked vault that CLI commands find through REFLECT_VAULT and REFLECT_PASSPHRASE."""
    from reflect.service import Reflect

    path = tmp_path / "vault"
    Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params()).lock()
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    return path
