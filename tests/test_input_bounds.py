"""Hostile or odd input files are refused one by one, in bounded time and memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reflect.cli import main

GOOD_VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Dr. Okafor>What brought you in this week?

00:00:05.000 --> 00:00:09.000
<v Mira>The move, mostly. Boxes everywhere.
"""


def test_a_lone_surrogate_refuses_that_file_only(
    env_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    # A JSON escape can name half of a UTF-16 pair, which no UTF-8 text can hold.
    (folder / "2024-05-01 a.json").write_text(
        '{"segments": [{"speaker": "Sam\\ud800", "start": 0, "end": 2, "text": "Hello there."}]}'
    )
    (folder / "2024-05-02 b.json").write_text(
        '{"segments": [{"speaker": "Sam", "start": 0, "end": 2, "text": "Fine \\udfff."}]}'
    )
    (folder / "2024-05-03 c.vtt").write_text(GOOD_VTT)
    capsys.readouterr()
    assert main(["import", "--json", str(folder)]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    results = {Path(e["path"]).name: e for e in events if e["event"] == "result"}
    for name in ("2024-05-01 a.json", "2024-05-02 b.json"):
        assert results[name]["status"] == "failed"
        assert "isn't valid Unicode text" in results[name]["reason"]
    assert results["2024-05-03 c.vtt"]["status"] == "imported"
