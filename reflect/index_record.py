"""One session's search index as bytes: its chunks and their embeddings.

The caller seals these bytes in the vault, so a vault opens without re-embedding anything.

Layout (all integers little-endian):
    b"RXIR"                 magic
    uint16 version          1
    uint32 header_length
    header                  UTF-8 JSON: model_id, session_id, dimension, count, chunks
    embeddings              count * dimension float32

Chunks are rows `[index, first_turn, last_turn, char_start, char_end, speakers, start, end]`
rather than objects: a session has dozens to hundreds, and keys would double the size.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from reflect.chunking import Chunk
from reflect.embedding import Vectors
from reflect.errors import IndexRecordError

MAGIC = b"RXIR"
VERSION = 1
_PREFIX = struct.Struct("<4sHI")


def encode_index_record(model_id: str, chunks: Sequence[Chunk], embeddings: Vectors) -> bytes:
    vectors = np.asarray(embeddings, dtype="<f4")
    if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but embeddings of shape {vectors.shape}")
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
    }
    header_bytes = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return _PREFIX.pack(MAGIC, VERSION, len(header_bytes)) + header_bytes + vectors.tobytes()


def decode_index_record(data: bytes) -> tuple[str, list[Chunk], Vectors]:
    """(model_id, chunks, embeddings) from `encode_index_record`'s bytes."""
    if len(data) < _PREFIX.size:
        raise _damaged()
    magic, version, header_length = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise _damaged()
    if version != VERSION:
        raise IndexRecordError(
            f"A search index was saved in format {version}, which this version of reflect does "
            f"not read (it reads format {VERSION}); it has to be rebuilt."
        )
    body = memoryview(data)[_PREFIX.size :]
    try:
        header = json.loads(bytes(body[:header_length]).decode())
        model_id, session_id = str(header["model_id"]), str(header["session_id"])
        dimension, count = int(header["dimension"]), int(header["count"])
        chunks = [_chunk(session_id, row) for row in header["chunks"]]
    except (ValueError, KeyError, TypeError, IndexError):
        raise _damaged() from None
    vector_bytes = body[header_length:]
    if len(chunks) != count or len(vector_bytes) != count * dimension * 4:
        raise _damaged()
    embeddings = (
        np.frombuffer(vector_bytes, dtype="<f4").astype(np.float32).reshape(count, dimension)
    )
    return model_id, chunks, embeddings


def _chunk(session_id: str, row: list[Any]) -> Chunk:
    index, first_turn, last_turn, char_start, char_end, speakers, start, end = row
    return Chunk(
        session_id=session_id,
        index=int(index),
        first_turn=int(first_turn),
        last_turn=int(last_turn),
        char_start=int(char_start),
        char_end=int(char_end),
        speakers=tuple(None if s is None else str(s) for s in speakers),
        start=None if start is None else float(start),
        end=None if end is None else float(end),
    )


def _damaged() -> IndexRecordError:
    return IndexRecordError("A stored search index is damaged; it has to be rebuilt.")
