"""Fast from cold (issue #18), correctness only: the speed itself is measured in
bench/bench_cold_start.py, never here."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import reflect.index
from reflect.chunking import Chunk
from reflect.cli import main
from reflect.index import Filters, SearchIndex
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.session import Session
from reflect.testing import FakeChatModel
from reflect.transcript import Turn
from tests.test_index import make_session

# What `reflect sessions` (decrypt the catalog, print a table) must never pay for.
HEAVY_MODULES = (
    "torch",
    "sentence_transformers",
    "transformers",
    "onnxruntime",
    "chromadb",
    "llama_cpp",
    "faster_whisper",
    "av",
    "textual",
    "numpy",
    "docx",
)


def _modules_loaded_by(argv: list[str]) -> tuple[str, list[str]]:
    """(stdout, heavy modules imported) of `reflect ARGV` run in a fresh process."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from reflect.cli import main
        assert main({argv!r}) == 0
        heavy = {HEAVY_MODULES!r}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    *printed, loaded = result.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(loaded)


def test_reflect_sessions_and_quotes_import_nothing_heavy(
    env_vault: Path, tmp_path: Path
) -> None:
    source = tmp_path / "2025-02-20 choir.txt"
    source.write_text("Therapist: How was choir?\nClient: I sang the alto line wrong.\n")
    service = Reflect.unlock(env_vault, os.environ["REFLECT_PASSPHRASE"])
    service.import_paths([source])
    service.lock()
    printed, loaded = _modules_loaded_by(["sessions"])
    assert "Choir" in printed  # it really listed the session
    assert loaded == []
    # A search by meaning (the real bundled model in the child): numpy only, no torch, no
    # chromadb; the session's record, made by the tests' fake embedder, is re-embedded too.
    printed, loaded = _modules_loaded_by(["quotes", "singing in a choir"])
    assert "alto line" in printed
    assert [m for m in loaded if m.split(".")[0] != "numpy"] == []


def test_numpy_encoder_gives_the_vectors_of_sentence_transformers() -> None:
    from reflect.embedding import NUMPY_MAX_TEXTS, default_embedder

    embedder = default_embedder()
    texts = [
        "phone in the kitchen",
        "",
        "Therapist: Mm-hmm. Client: I—I don't know, naïve maybe? 😅 Ça va.",
        " ".join(["a long turn about sleep and the night shifts"] * 60),  # cut at 256 tokens
    ]
    light = np.stack([embedder.embed([t])[0] for t in texts])  # the numpy encoder
    assert "torch" not in sys.modules or embedder._model is None
    full = embedder.embed(texts * NUMPY_MAX_TEXTS)[: len(texts)]  # sentence-transformers
    assert embedder._model is not None
    assert (light * full).sum(axis=1) == pytest.approx(np.ones(len(texts)), abs=1e-5)


def _one_turn_chunks(session_id: str, count: int) -> tuple[Session, list[Chunk]]:
    turns = [Turn("Noor", f"line {i}", float(i), float(i) + 1) for i in range(count)]
    session = make_session(session_id, turns)
    chunks = [
        Chunk(session_id=session_id, index=i, first_turn=i, last_turn=i,
              char_start=t.char_start, char_end=t.char_end, speakers=("Noor",),
              start=t.start, end=t.end)
        for i, t in enumerate(session.turns)
    ]
    return session, chunks


def _clustered(rng: np.random.Generator, count: int) -> np.ndarray:
    centres = rng.normal(size=(30, 64))
    vectors = centres[rng.integers(0, 30, count)] + 0.8 * rng.normal(size=(count, 64))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_switch_to_chromadb_during_edits_keeps_the_rankings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exact search serves while chromadb's index builds in the background, in batches, with
    sessions added and removed meanwhile; after the switch chromadb ranks what exact search
    ranked (at ef_search=1000 HNSW finds the true nearest at this size)."""
    monkeypatch.setattr(reflect.index, "STORE_BATCH", 50)
    rng = np.random.default_rng(18)
    sessions = {f"s{n}": (*_one_turn_chunks(f"s{n}", 300), _clustered(rng, 300)) for n in range(6)}
    index = SearchIndex()
    try:
        for session, chunks, vectors in list(sessions.values())[:5]:
            index.add_session(session, chunks, vectors)
        queries = _clustered(rng, 12)
        builder = threading.Thread(target=index.build_vector_store)
        builder.start()
        index.remove_session("s1")  # while some of its vectors may be in chromadb already
        session, chunks, vectors = sessions["s5"]
        index.add_session(session, chunks, vectors)  # while the build runs, or after
        builder.join()
        index.build_vector_store()  # whatever came after the builder's last look
        assert index.store_serving
        assert index.vector_count == index.chunk_count == 5 * 300
        kept = [sessions[s] for s in ("s0", "s2", "s3", "s4", "s5")]
        matrix = np.concatenate([v for _, _, v in kept])
        keys = [(s.id, c.index) for s, chunks, _ in kept for c in chunks]
        for query in queries:
            expected = [keys[i] for i in np.argsort(-(matrix @ query), kind="stable")[:20]]
            found = index.vector_search(query, 20)
            assert [m.key for m in found] == expected
            assert [m.score for m in found] == pytest.approx(
                sorted((matrix @ query).tolist(), reverse=True)[:20], abs=1e-5
            )
        # Removed after the switch: chromadb forgets it as the matrix did.
        index.remove_session("s0")
        assert all(m.chunk.session_id != "s0" for m in index.vector_search(queries[0], 50))
    finally:
        index.close()


def test_exact_and_chromadb_agree_with_filters() -> None:
    rng = np.random.default_rng(5)
    session, chunks, vectors = (*_one_turn_chunks("f", 800), _clustered(rng, 800))
    chunks = [dataclasses.replace(c, speakers=("Ilse",)) if c.index % 7 == 0 else c
              for c in chunks]
    exact, store = SearchIndex(), SearchIndex()
    try:
        for index in (exact, store):
            index.add_session(session, chunks, vectors)
        store.build_vector_store()
        assert store.store_serving and not exact.store_serving
        for query in _clustered(rng, 8):
            for filters in (Filters(), Filters(speakers=frozenset({"Ilse"}))):
                a = exact.vector_search(query, 10, filters)
                b = store.vector_search(query, 10, filters)
                assert [m.key for m in a] == [m.key for m in b]
                assert [m.score for m in a] == pytest.approx([m.score for m in b], abs=1e-5)
    finally:
        exact.close()
        store.close()


def test_cli_ask_prints_the_excerpts_before_the_answer(
    env_vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "2024-05-04 mornings.txt"
    source.write_text(
        "[00:00:05] Jordan: I started walking the dog before work, around the reservoir.\n"
        "[00:00:20] Okafor: How does the morning feel after the walk?\n"
        "[00:00:31] Jordan: Lighter. The dog walking gives the day a shape.\n"
    )
    service = Reflect.unlock(env_vault, os.environ["REFLECT_PASSPHRASE"])
    service.import_paths([source], ImportOptions(me="Jordan"))
    service.lock()
    seen_at_model: list[str] = []
    fake = FakeChatModel(["You said you walk the dog around the reservoir [1]."])

    def stream(*args: object, **kwargs: object) -> object:
        seen_at_model.append(capsys.readouterr().out)  # stdout when the model starts
        return FakeChatModel.stream(fake, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fake, "stream", stream)
    monkeypatch.setattr(Reflect, "_default_model", lambda self: fake)
    capsys.readouterr()
    assert main(["ask", "What did I say about walking the dog?"]) == 0
    after = capsys.readouterr().out
    # Before the model ran, the excerpt was on stdout, numbered as the answer cites it.
    (before,) = seen_at_model
    assert before.lstrip().startswith("[1]") and "reservoir" in before
    assert "You said you walk the dog" not in before
    assert "You said you walk the dog around the reservoir [1]" in after
    assert "[1]" not in after.replace("reservoir [1]", "")  # not shown twice
