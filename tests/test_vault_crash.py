"""SIGKILL a writer at random moments: the vault must always open, old or new, never torn."""

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
from reflect.vault import Vault
from tests.conftest import PASSPHRASE

WRITER = textwrap.dedent(
    """
    import os, sys
    from reflect.vault import Vault
    v = Vault.open(sys.argv[1], sys.argv[2])
    print("ready", flush=True)
    i = int(v.get("a")) if "a" in v else 0
    while True:
        i += 1
        with v.transaction() as tx:
            # Two objects that must always agree, and one large enough to span chunks.
            tx.put("a", str(i).encode())
            tx.put("bulk", os.urandom(150_000 + i))
            tx.put("b", str(i).encode())
    """
)


def test_sigkill_during_writes_never_tears_the_vault(tmp_path: Path) -> None:
    path = tmp_path / "vault"
    Vault.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    rng = random.Random(20261126)
    seen = 0
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), PASSPHRASE],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        v = Vault.open(path, PASSPHRASE)
        if "a" in v:
            a, b = int(v.get("a")), int(v.get("b"))
            assert a == b, "a transaction was half applied"
            assert len(v.get("bulk")) == 150_000 + a
            assert a >= seen, "a committed write was lost"
            seen = a
    assert seen > 0, "the writer never committed anything; the test proved nothing"
    # The next writer sweeps the debris and the vault keeps working.
    v = Vault.open(path, PASSPHRASE)
    v.put("after", b"ok")
    live = {e.object_id for e in v._current_manifest().objects.values()}
    assert {p.name for p in (path / "objects").iterdir()} == live
