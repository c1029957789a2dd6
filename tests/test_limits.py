"""Limits (issue #7): an oversized transcript is refused plainly, a huge session fits in memory.

The full measurements (100 MB files, 100,000 turns with the real model, 1,000 sessions) are in
bench/bench_limits.py; these are the fast guards. The embedder is the deterministic fake
(conftest patches it in), so what is measured is reflect's own structure: parsing, chunking,
sealing and storing.

The 100,000-turn import takes about 30 s here (2 cores, 29-31 s measured), nearly all of it
tracemalloc's bookkeeping: without it the same import takes about 7 s. That is the issue's
number and at the edge of what a unit test should cost, so it is marked slow; with fewer
turns it would no longer test the limit the issue names.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from reflect import crypto
from reflect.formats import MAX_TEXT_BYTES
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.testing import store_of
from tests.conftest import PASSPHRASE

LONG_SESSION_TURNS = 100_000
# Measured here (Python 3.11): the Python heap peaked at 76 MiB importing these 100,000 turns
# (2.9 MiB of text), about 800 bytes a turn. Twice that leaves room for other Python and
# library versions while still failing if the import starts holding a few more copies of
# every turn. tracemalloc sees Python objects and numpy arrays, not SQLite or C buffers.
HEAP_PEAK_BOUND_MB = 150


def _line(n: int, text: str) -> str:
    seconds = n * 3  # 100,000 turns fit in "[hh:mm:ss]": 83 hours
    speaker = "Client" if n % 2 else "Therapist"
    return f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}] {speaker}: {text}"


def _vault_state(service: Reflect) -> tuple[int, int, int]:
    status = service.status()
    return status.objects, status.generation, status.sessions


def test_a_transcript_over_the_size_limit_is_refused_and_nothing_is_stored(
    tmp_path: Path, vault_path: Path
) -> None:
    source = tmp_path / "2024-05-01 far too long.txt"
    # Real transcript lines, so that only the size check can refuse it: without that check
    # this file would parse and import.
    line = _line(1, "I walked by the river and the noise in my head went quiet.") + "\n"
    with source.open("w", encoding="utf-8") as f:
        f.write(line * (MAX_TEXT_BYTES // len(line) + 1))
    assert source.stat().st_size > MAX_TEXT_BYTES
    service = Reflect.create(vault_path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    before = _vault_state(service)
    vault_files = sorted(p.relative_to(vault_path) for p in vault_path.rglob("*"))

    started = time.perf_counter()
    report = service.import_paths([source], ImportOptions())
    elapsed = time.perf_counter() - started

    [result] = report.results
    assert result.status == "failed"
    assert result.reason is not None
    limit = f"at most {MAX_TEXT_BYTES // 10**6} MB"
    assert limit in result.reason, result.reason
    assert f"{source.stat().st_size / 1e6:.0f} MB" in result.reason, result.reason
    # Refused by its size, before reading: a read and parse of 20 MB would take seconds.
    assert elapsed < 1.0
    assert _vault_state(service) == before
    assert sorted(p.relative_to(vault_path) for p in vault_path.rglob("*")) == vault_files
    assert service.sessions() == []


@pytest.mark.slow
def test_a_session_of_100_000_short_turns_imports_within_bounded_memory(
    tmp_path: Path, vault_path: Path
) -> None:
    source = tmp_path / "2024-05-02 a very long session.txt"
    # Backchannels and short replies: the most turns for the fewest bytes, which is what
    # stresses per-turn costs (and keeps the fake embedder's share of the time small).
    lines = [_line(n, f"Turn {n}." if n % 2 else "Mm-hmm.") for n in range(LONG_SESSION_TURNS)]
    last_words = "the heron finally left the pond"
    lines[-1] = _line(LONG_SESSION_TURNS - 1, last_words)
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = source.stat().st_size
    assert size < MAX_TEXT_BYTES
    del lines
    service = Reflect.create(vault_path, PASSPHRASE, kdf=crypto.floor_kdf_params())

    tracemalloc.start()
    try:
        report = service.import_paths([source], ImportOptions(me="Client"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    [result] = report.results
    assert result.status == "imported", result.reason
    assert result.turns == LONG_SESSION_TURNS
    peak_mb = peak / 2**20
    assert peak_mb < HEAP_PEAK_BOUND_MB, f"{peak_mb:.0f} MiB for {size / 2**20:.1f} MiB of text"
    session = service.session(result.session_id or "")
    assert len(session.turns) == LONG_SESSION_TURNS
    assert session.text.endswith(last_words)
    record = store_of(service).index_record(session.id)
    assert record is not None
    _, chunks, vectors = decode_index_record(record)
    # Every turn is in some chunk, to the very last one: nothing was dropped to save memory.
    assert chunks[-1].last_turn == LONG_SESSION_TURNS - 1
    assert len(vectors) == len(chunks)
