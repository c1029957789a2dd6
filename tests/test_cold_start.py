"""Fast from cold (issue #18), correctness only: the speed itself is measured in
bench/bench_cold_start.py, never here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from reflect.service import Reflect

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


def test_reflect_sessions_imports_nothing_heavy(env_vault: Path, tmp_path: Path) -> None:
    source = tmp_path / "2025-02-20 choir.txt"
    source.write_text("Therapist: How was choir?\nClient: I sang the alto line wrong.\n")
    service = Reflect.unlock(env_vault, os.environ["REFLECT_PASSPHRASE"])
    service.import_paths([source])
    service.lock()
    script = textwrap.dedent(
        f"""
        import json, sys
        from reflect.cli import main
        assert main(["sessions"]) == 0
        heavy = {HEAVY_MODULES!r}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    assert "Choir" in result.stdout  # it really listed the session
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == []
