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
from typing import TYPE_CHECKING, Any

import numpy as np

from reflect import schema
from reflect.chunking import Chunk
from reflect.embedding import Vectors
from reflect.errors import IndexRecordError

if TYPE_CHECKING:
    from reflect.session import Session

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
    header = schema.load(bytes(body[:header_length]), _HEADER_SCHEMA, _damaged)
    chunks = [_chunk(header["session_id"], row) for row in header["chunks"]]
    count, dimension = header["count"], header["dimension"]
    vector_bytes = body[header_length:]
    if len(chunks) != count or len(vector_bytes) != count * dimension * 4:
        raise _damaged()
    embeddings = (
        np.frombuffer(vector_bytes, dtype="<f4").astype(np.float32).reshape(count, dimension)
    )
    if not np.isfinite(embeddings).all():  # a NaN would silently sink every score it touches
        raise _damaged()
    return header["model_id"], chunks, embeddings


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


def fits(session: Session, chunks: Sequence[Chunk]) -> bool:
    """Whether chunks decoded from a record point inside this session (its text and turns);
    if not, the record is another session's or stale, and is rebuilt from the session."""
    return all(c.char_end <= len(session.text) and c.last_turn < len(session.turns) for c in chunks)


def _damaged() -> IndexRecordError:
    return IndexRecordError("A stored search index is damaged; it has to be rebuilt.")
