"""One session's search index as bytes: its chunks and their embeddings, and its sentences'.

The caller seals these bytes in the vault, so a vault opens without re-embedding anything.

Layout (all integers little-endian):
    b"RXIR"                 magic
    uint16 version          2 (1: no sentences)
    uint32 header_length
    header                  UTF-8 JSON: model_id, session_id, dimension, count, chunks,
                            sentence_count (version 2)
    embeddings              count * dimension float32
    sentences               sentence_count * (uint32 start, uint32 end) (version 2): offsets
                            into the session's text, in binary: a session has thousands
    sentence embeddings     sentence_count * dimension float16 (version 2): a ranking signal
                            only (reflect.rerank), where half the bytes cost nothing measurable

Chunks are rows `[index, first_turn, last_turn, char_start, char_end, speakers, start, end]`
rather than objects: a session has dozens to hundreds, and keys would double the size.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from reflect import schema
from reflect.chunking import Chunk
from reflect.embedding import Vectors
from reflect.errors import IndexRecordError

if TYPE_CHECKING:
    from reflect.session import Session

MAGIC = b"RXIR"
VERSION = 2
# Versions this one reads: a version 1 record has no sentences (its session is re-embedded).
READS = (1, 2)
_PREFIX = struct.Struct("<4sHI")

Span = tuple[int, int]
Spans = npt.NDArray[np.int64]  # rows of (start, end)


@dataclass(frozen=True, slots=True)
class IndexRecord:
    """A decoded record. `sentences` (rows of start, end) is None in a version 1 record."""

    model_id: str
    chunks: list[Chunk]
    embeddings: Vectors
    sentences: Spans | None
    sentence_embeddings: npt.NDArray[np.float16] | None


def encode_index_record(
    model_id: str,
    chunks: Sequence[Chunk],
    embeddings: Vectors,
    sentences: Sequence[Span] | Spans = (),
    sentence_embeddings: Vectors | None = None,
) -> bytes:
    vectors = np.asarray(embeddings, dtype="<f4")
    if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but embeddings of shape {vectors.shape}")
    said = np.asarray(
        np.zeros((0, vectors.shape[1])) if sentence_embeddings is None else sentence_embeddings,
        dtype="<f2",
    )
    offsets = np.asarray(sentences, dtype="<u4").reshape(-1, 2)
    if said.ndim != 2 or said.shape != (len(offsets), vectors.shape[1]):
        raise ValueError(f"{len(offsets)} sentences but embeddings of shape {said.shape}")
    session_ids = {c.session_id for c in chunks}
    if len(session_ids) > 1:
        raise ValueError("an index record holds the chunks of one session")
    header = {
        "model_id": model_id,
        "session_id": session_ids.pop() if session_ids else "",
        "dimension": int(vectors.shape[1]),
        "count": len(chunks),
        "chunks": [
            [
                c.index,
                c.first_turn,
                c.last_turn,
                c.char_start,
                c.char_end,
                list(c.speakers),
                c.start,
                c.end,
            ]
            for c in chunks
        ],
        "sentence_count": len(offsets),
    }
    header_bytes = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return (
        _PREFIX.pack(MAGIC, VERSION, len(header_bytes))
        + header_bytes
        + vectors.tobytes()
        + offsets.tobytes()
        + said.tobytes()
    )


def decode_index_record(data: bytes) -> tuple[str, list[Chunk], Vectors]:
    """(model_id, chunks, embeddings) from `encode_index_record`'s bytes."""
    record = read_index_record(data)
    return record.model_id, record.chunks, record.embeddings


def read_index_record(data: bytes) -> IndexRecord:
    """Everything `encode_index_record` wrote."""
    if len(data) < _PREFIX.size:
        raise _damaged()
    magic, version, header_length = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise _damaged()
    if version not in READS:
        raise IndexRecordError(
            f"A search index was saved in format {version}, which this version of reflect does "
            f"not read (it reads format {VERSION}); it has to be rebuilt."
        )
    body = memoryview(data)[_PREFIX.size :]
    header = schema.load(bytes(body[:header_length]), _HEADER_SCHEMA, _damaged)
    chunks = [_chunk(header["session_id"], row) for row in header["chunks"]]
    count, dimension = header["count"], header["dimension"]
    said = header.get("sentence_count") if version >= 2 else 0
    if said is None:
        raise _damaged()
    chunk_end = header_length + count * dimension * 4
    offsets_end = chunk_end + said * 8
    if len(chunks) != count or len(body) != offsets_end + said * dimension * 2:
        raise _damaged()
    embeddings = (
        np.frombuffer(body[header_length:chunk_end], dtype="<f4")
        .astype(np.float32)
        .reshape(count, dimension)
    )
    spans = sentence_embeddings = None
    if version >= 2:
        spans = np.frombuffer(body[chunk_end:offsets_end], dtype="<u4").astype(np.int64)
        spans = spans.reshape(said, 2)
        sentence_embeddings = (
            np.frombuffer(body[offsets_end:], dtype="<f2")
            .astype(np.float16)
            .reshape(said, dimension)
        )
        if not np.isfinite(sentence_embeddings).all() or (spans[:, 0] > spans[:, 1]).any():
            raise _damaged()
    if not np.isfinite(embeddings).all():  # a NaN would silently sink every score it touches
        raise _damaged()
    return IndexRecord(header["model_id"], chunks, embeddings, spans, sentence_embeddings)


_HEADER_SCHEMA = {
    "model_id": str,
    "session_id": str,
    "dimension": schema.int_in(1, 65_536),
    "count": schema.natural,
    # index, first_turn, last_turn, char_start, char_end, speakers, start, end
    "chunks": schema.list_of(
        schema.row(
            schema.natural,
            schema.natural,
            schema.natural,
            schema.natural,
            schema.natural,
            schema.list_of(schema.optional(str)),
            schema.optional(float),
            schema.optional(float),
        )
    ),
    "sentence_count": schema.optional(schema.natural),  # version 2
}


def _chunk(session_id: str, row: list[Any]) -> Chunk:
    index, first_turn, last_turn, char_start, char_end, speakers, start, end = row
    if first_turn > last_turn or char_start > char_end:
        raise _damaged()
    return Chunk(
        session_id=session_id,
        index=index,
        first_turn=first_turn,
        last_turn=last_turn,
        char_start=char_start,
        char_end=char_end,
        speakers=tuple(speakers),
        start=None if start is None else float(start),
        end=None if end is None else float(end),
    )


def fits(session: Session, chunks: Sequence[Chunk], sentences: Spans | None = None) -> bool:
    """Whether chunks (and sentences) decoded from a record point inside this session (its
    text and turns); if not, the record is another session's or stale, and is rebuilt from
    the session."""
    return all(
        c.char_end <= len(session.text) and c.last_turn < len(session.turns) for c in chunks
    ) and (
        sentences is None or not len(sentences) or int(sentences[:, 1].max()) <= len(session.text)
    )


def _damaged() -> IndexRecordError:
    return IndexRecordError("A stored search index is damaged; it has to be rebuilt.")
