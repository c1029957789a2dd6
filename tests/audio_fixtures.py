"""The invented test recordings (tests/fixtures/audio) and what is said in them, for every
test that listens. `mono` and `stereo` (decoded samples) are fixtures in tests/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AUDIO = Path(__file__).parent / "fixtures" / "audio"
EXPECTED: dict[str, Any] = json.loads((AUDIO / "expected.json").read_text(encoding="utf-8"))
TURNS: list[dict[str, Any]] = EXPECTED["turns"]
DURATION: float = EXPECTED["duration"]


def fixture(name: str) -> bytes:
    return (AUDIO / name).read_bytes()
