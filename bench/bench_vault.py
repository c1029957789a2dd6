"""Vault costs on this machine: key stretching at init and unlock, sealing throughput.

.venv/bin/python bench/bench_vault.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from reflect import crypto
from reflect.vault import Vault


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def main() -> None:
    rows = []
    params, tune_s = timed(crypto.tune_kdf_params)
    _, derive_s = timed(lambda: params.derive(b"benchmark passphrase"))
    rows.append(
        (
            "Argon2id tuned at init",
            f"{params.memory_kib // 1024} MiB, {params.iterations} passes",
            f"{derive_s:.2f} s per unlock (target 0.5-1 s)",
        )
    )
    _, floor_s = timed(lambda: crypto.floor_kdf_params().derive(b"x"))
    rows.append(("Argon2id floor", "64 MiB, 3 passes", f"{floor_s:.2f} s"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v"
        vault = Vault.create(path, "benchmark passphrase", kdf=params)
        payload = os.urandom(32 * 1024 * 1024)
        _, put_s = timed(lambda: vault.put("big", payload))
        rows.append(("seal + atomic write", "32 MiB object", f"{32 / put_s:.0f} MiB/s"))
        _, get_s = timed(lambda: vault.get("big"))
        rows.append(("read + verify + open", "32 MiB object", f"{32 / get_s:.0f} MiB/s"))
        for i in range(200):
            vault.put(f"session/{i}", os.urandom(20_000))
        _, open_s = timed(lambda: Vault.open(path, "benchmark passphrase"))
        rows.append(("unlock", "vault of 200 objects", f"{open_s:.2f} s"))
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'case':<28}  result")
    for what, case, result in rows:
        print(f"{what:<{width}}  {case:<28}  {result}")
    print(f"\n(tuning itself took {tune_s:.2f} s)")


if __name__ == "__main__":
    main()
