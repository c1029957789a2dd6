"""Sentence embeddings: the real model, read from a local folder.

Importing this module is cheap: torch and sentence-transformers are imported only when a
`SentenceTransformerEmbedder` first loads its model, after the Hugging Face libraries are told
they are offline, so nothing ever reaches for the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from reflect.errors import EmbeddingModelMissing

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from reflect.bert_numpy import NumpyBert

Vectors = npt.NDArray[np.float32]
Progress = Callable[[int, int], None]

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # Without this, huggingface_hub may phone home about library usage.
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # transformers draws a "Loading weights" bar on stderr, which would scribble over the TUI.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}
# A generic last folder name says nothing about which model it is.
_GENERIC_FOLDER_NAMES = frozenset({"model", "models", "data", "files", "weights"})
_WEIGHT_SUFFIXES = (".json", ".safetensors", ".bin", ".onnx", ".pt")
# Calls with at most this many texts (a question, an answer's sentences) run on the numpy
# encoder when the model allows it (reflect.bert_numpy) and torch is not loaded: no torch
# import, 0.2 s to load instead of 4-5 s. Bulk embedding (import, re-embedding) goes to
# torch, which is 2-3 times faster per chunk on long texts (bench/README.md, "Fast from
# cold"); once torch is loaded it takes everything. Both give the same vectors.
NUMPY_MAX_TEXTS = 8
# Calls with at least this many texts (an import's groups, re-embedding at unlock) are bulk
# work someone waits for: they run on every core (`bulk_threads`), then the query setting
# comes back. On the 2-core machine 2 threads embedded 1.9x as fast as 1 when it was calm,
# 1.2x at load average 8, and no faster at load 3 (bench/README.md, "Import speed").
BULK_MIN_TEXTS = 64


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into float32, L2-normalised vectors of shape (n, dimension)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> Vectors: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, on the CPU.

    The model is loaded on first use (or by `load()`), so creating one is instant and the app can
    load it in the background. `model_id` changes whenever the model's files do, so embeddings
    stored with another model are recognised as stale.
    """

    def __init__(
        self, model_path: Path, *, threads: int | None = None, bulk_threads: int | None = None
    ) -> None:
        """`threads`: torch's CPU threads, a process-wide setting applied when the model loads.

        Default: half the cores (at least 1, at most 4). Torch's own default, every core, turns
        badly against us when anything else runs: its threads spin waiting for each other, and
        on a busy 2-core machine one query took 170 ms with 2 threads against 28 ms with 1.
        `bulk_threads`: torch's threads during calls of BULK_MIN_TEXTS texts or more; default
        every core (at most 8).
        """
        model_path = Path(model_path)
        if not (model_path / "config.json").is_file():
            raise EmbeddingModelMissing(
                f"No embedding model was found in {model_path}; reinstall reflect."
            )
        self.model_path = model_path
        self._model_id = _model_id(model_path)
        self._threads = threads or min(4, max(1, (os.cpu_count() or 2) // 2))
        self._bulk_threads = bulk_threads or min(8, os.cpu_count() or 1)
        self._bulk_calls = 0  # bulk calls running now (guarded by _lock)
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._numpy: NumpyBert | None = None
        self._numpy_checked = False

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        light = self._numpy_encoder()
        if light is not None:
            return light.dimension
        model = self.load()
        # Renamed in sentence-transformers 6; the old name still works but warns.
        get_dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        assert dimension is not None
        return int(dimension)

    def load_query_encoder(self) -> None:
        """Load what a search's question needs: the numpy encoder where the model allows it,
        else the whole model."""
        if self._numpy_encoder() is None:
            self.load()

    def _numpy_encoder(self) -> NumpyBert | None:
        with self._lock:
            if not self._numpy_checked:
                self._numpy_checked = True
                from reflect import bert_numpy

                if bert_numpy.supports(self.model_path):
                    self._numpy = bert_numpy.NumpyBert(self.model_path)
                    _limit_blas_threads(self._threads)
            return self._numpy

    def load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self.model_path, self._threads)
            return self._model

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> Vectors:
        few = len(texts) <= NUMPY_MAX_TEXTS and self._model is None
        light = self._numpy_encoder() if few else None
        if light is not None:
            return _embed_in_batches(texts, light.encode, light.dimension, batch_size, progress)
        model = self.load()
        if len(texts) >= BULK_MIN_TEXTS and self._bulk_threads != self._threads:
            with self._bulk():
                return self._encode(model, texts, batch_size, progress)
        return self._encode(model, texts, batch_size, progress)

    @contextlib.contextmanager
    def _bulk(self) -> Iterator[None]:
        """Torch on `bulk_threads` while a bulk call runs; the query setting after the last."""
        import torch

        with self._lock:
            self._bulk_calls += 1
            torch.set_num_threads(self._bulk_threads)
        try:
            yield
        finally:
            with self._lock:
                self._bulk_calls -= 1
                if self._bulk_calls == 0:
                    torch.set_num_threads(self._threads)

    def _encode(
        self,
        model: SentenceTransformer,
        texts: Sequence[str],
        batch_size: int,
        progress: Progress | None,
    ) -> Vectors:
        def encode(batch: Sequence[str]) -> Vectors:
            vectors = model.encode(
                list(batch),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            return np.asarray(vectors, dtype=np.float32)

        return _embed_in_batches(texts, encode, self.dimension, batch_size, progress)


def default_embedder() -> SentenceTransformerEmbedder:
    """The embedding model that ships with reflect."""
    from reflect.bundled import embedding_model_path

    return SentenceTransformerEmbedder(embedding_model_path())


def _embed_in_batches(
    texts: Sequence[str],
    encode: Callable[[Sequence[str]], Vectors],
    dimension: int,
    batch_size: int,
    progress: Progress | None,
) -> Vectors:
    """Encode in batches of similar length (less padding), reporting progress after each."""
    total = len(texts)
    out = _empty(dimension, total)
    order = sorted(range(total), key=lambda i: len(texts[i]))
    done = 0
    if progress is not None:
        progress(0, total)
    for batch_start in range(0, total, max(1, batch_size)):
        indices = order[batch_start : batch_start + batch_size]
        out[indices] = encode([texts[i] for i in indices])
        done += len(indices)
        if progress is not None:
            progress(done, total)
    return out


def _empty(dimension: int, rows: int = 0) -> Vectors:
    return np.zeros((rows, dimension), dtype=np.float32)


def _model_id(model_path: Path) -> str:
    """Folder name plus a hash of the sizes of its config and weight files.

    Sizes rather than contents: hashing ~90 MB of weights on every start would cost a second,
    and a different model (or version of it) virtually always differs in some file's size.
    """
    digest = hashlib.sha256()
    for path in sorted(model_path.rglob("*")):
        if path.is_file() and path.suffix in _WEIGHT_SUFFIXES and "__pycache__" not in path.parts:
            digest.update(
                f"{path.relative_to(model_path).as_posix()}\0{path.stat().st_size}\n".encode()
            )
    name = model_path.name
    if name.lower() in _GENERIC_FOLDER_NAMES and model_path.parent.name:
        name = f"{model_path.parent.name}-{name}"
    return f"{name}-{digest.hexdigest()[:12]}"


def _limit_blas_threads(threads: int) -> None:
    """numpy's BLAS threads, process-wide like torch's (see __init__): with its default of
    every core, a question took 25 ms at the median and 360-1,070 ms at p95 on a busy 2-core
    machine, against 12 and 24-32 ms on one thread. threadpoolctl comes with
    sentence-transformers (through scikit-learn); without it the default stays."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads, user_api="blas")


def _load_sentence_transformer(model_path: Path, threads: int) -> SentenceTransformer:
    for name, value in _OFFLINE_ENV.items():
        os.environ[name] = value
    # Tokenizers' thread pool and a later fork (subprocess) warn and may deadlock.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    try:
        return SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    except OSError as exc:
        raise EmbeddingModelMissing(
            f"The embedding model in {model_path} could not be loaded; reinstall reflect."
        ) from exc
