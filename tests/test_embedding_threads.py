"""Bulk embedding (an import's groups) runs on every core, then torch gets the query setting
back; a question's few texts never change it. Torch and the model are stand-ins here."""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reflect.embedding import BULK_MIN_TEXTS, SentenceTransformerEmbedder


class FakeModel:
    def __init__(self, torch: types.SimpleNamespace) -> None:
        self.torch = torch
        self.threads_seen: list[int] = []

    def get_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        self.threads_seen.append(self.torch.threads)
        vectors = np.ones((len(texts), 4), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    torch = types.SimpleNamespace(threads=1, calls=[])

    def set_num_threads(n: int) -> None:
        torch.calls.append(n)
        torch.threads = n

    torch.set_num_threads = set_num_threads
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def embedder(tmp_path: Path, torch: types.SimpleNamespace) -> tuple[Any, FakeModel]:
    (tmp_path / "config.json").write_text("{}")  # no numpy encoder: not a known architecture
    made = SentenceTransformerEmbedder(tmp_path, threads=1, bulk_threads=2)
    model = FakeModel(torch)
    made._model = model
    return made, model


def test_bulk_calls_use_every_core_then_give_it_back(
    tmp_path: Path, fake_torch: types.SimpleNamespace
) -> None:
    made, model = embedder(tmp_path, fake_torch)
    vectors = made.embed([f"text {i}" for i in range(BULK_MIN_TEXTS)])
    assert vectors.shape == (BULK_MIN_TEXTS, 4)
    assert set(model.threads_seen) == {2}
    assert fake_torch.calls == [2, 1] and fake_torch.threads == 1


def test_a_question_keeps_the_query_setting(
    tmp_path: Path, fake_torch: types.SimpleNamespace
) -> None:
    made, model = embedder(tmp_path, fake_torch)
    made.embed(["what did I say about the allotment?"])
    assert fake_torch.calls == [] and model.threads_seen == [1]


def test_overlapping_bulk_calls_restore_only_after_the_last(
    tmp_path: Path, fake_torch: types.SimpleNamespace
) -> None:
    """Two bulk calls at once (an import beside re-embedding at unlock): the first to end
    must not take the cores from the other."""
    made, _ = embedder(tmp_path, fake_torch)
    with made._bulk():
        with made._bulk():
            assert fake_torch.threads == 2
        assert fake_torch.threads == 2
    assert fake_torch.threads == 1
