"""SIGKILL while unlock rewrites the index records (a new embedding model or chunking).

The first unlock after an upgrade re-embeds every session and stores each new record. A kill
at any moment of that must leave every session intact and every record either the old one
or the new one, and the next unlock must finish the job.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from reflect import crypto
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions
from reflect.live_index import record_identity
from reflect.service import Reflect
from reflect.testing import FakeEmbedder, store_of
from tests.conftest import PASSPHRASE

SESSIONS = 16
OLD, NEW = FakeEmbedder(32), FakeEmbedder(48)

REBUILDER = textwrap.dedent(
    """
    import sys, time
    from reflect.testing import FakeEmbedder
    from reflect.service import Reflect

    class Slow(FakeEmbedder):
        def embed(self, texts, **kwargs):
            time.sleep(0.02)  # a real model takes longer; the parent kills near here
            print("embedded", flush=True)
            return super().embed(texts, **kwargs)

    service = Reflect.unlock(sys.argv[1], sys.argv[2], embedder_factory=lambda: Slow(48))
    print("ready", flush=True)
    service.open_index()
    print("done", flush=True)
    """
)


def transcript(n: int) -> str:
    # Invented lines of an invented client and therapist.
    return (
        f"[00:00:0{n % 10}] Therapist: What stood out in week {n}?\n"
        f"[00:00:15] Rowan: The walk to the bakery on day {n}, and the heron by the canal "
        f"lock number {n}, which I counted as a small win.\n"
        "[00:00:40] Therapist: What made it a win?\n"
        f"[00:00:47] Rowan: I went out even though the list on the fridge said {n} things.\n"
    )


def test_sigkill_while_unlock_rewrites_index_records(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    service = Reflect.create(
        vault, PASSPHRASE, kdf=crypto.floor_kdf_params(), embedder_factory=lambda: OLD
    )
    for n in range(SESSIONS):
        path = tmp_path / f"2025-01-{n + 1:02d} week {n}.txt"
        path.write_text(transcript(n))
        service.import_paths([path], ImportOptions(me="Rowan"))
    texts = {s.id: service.session(s.id).text for s in service.sessions()}
    service.lock()
    identities = {record_identity(OLD), record_identity(NEW)}

    rng = random.Random(20261126)
    mixed = 0  # kills after which some records were new and some still old
    for _ in range(SESSIONS):
        child = subprocess.Popen(
            [sys.executable, "-c", REBUILDER, str(vault), PASSPHRASE],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        # Let it embed one to three sessions, then kill it somewhere around the next
        # record's write: before, during or after the transaction.
        for _ in range(rng.randint(1, 3)):
            if child.stdout.readline().strip() != b"embedded":
                break
        time.sleep(rng.uniform(0.0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait(30)

        after = Reflect.unlock(vault, PASSPHRASE)
        assert {s.id: after.session(s.id).text for s in after.sessions()} == texts
        seen = set()
        for session_id in texts:
            record = store_of(after).index_record(session_id)
            assert record is not None
            identity, chunks, vectors = decode_index_record(record)
            assert identity in identities and len(chunks) == len(vectors)
            seen.add(identity)
        mixed += len(seen) == 2
        after.lock()
        if seen == {record_identity(NEW)}:
            break  # the rewrite is complete; nothing left to interrupt
    assert mixed >= 3, "the kills never landed in the middle of the rewrite"
    finished = Reflect.unlock(vault, PASSPHRASE, embedder_factory=lambda: NEW)
    finished.open_index()
    for session_id in texts:
        record = store_of(finished).index_record(session_id)
        identity, _, vectors = decode_index_record(record or b"")
        assert identity == record_identity(NEW) and vectors.shape[1] == 48
    hit = finished.quotes("heron by the canal lock number 7", k=1).hits[0]
    assert "lock number 7" in hit.text
