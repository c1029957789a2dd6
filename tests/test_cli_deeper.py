"""`reflect quotes --deeper`: the top ten read closely by the judge and reordered.

The judge is a stand-in given through the service's default judge factory, as the embedder
is in conftest; "not installed" runs the real check with the extra's packages made absent.
The sessions are invented.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reflect import bundled, service
from reflect.cli import main
from reflect.testing import PrefersWord
from tests.conftest import cli_output as _run

SESSIONS = {
    "2025-01-14 winter.txt": """\
[00:00:02] Dr. Halvorsen: How have the evenings been since the clocks changed?
[00:00:07] Mira: Dark by four. I sit on the sofa with my phone and the evening just goes.
[00:00:18] Dr. Halvorsen: What would a better evening look like?
[00:00:23] Mira: A walk before it gets dark, maybe. Or calling my brother.
""",
    "2025-02-11 the walk.txt": """\
[00:00:03] Dr. Halvorsen: Did the walks happen?
[00:00:06] Mira: Three times. I went round the reservoir and the herons were out.
[00:00:15] Dr. Halvorsen: How did the evenings feel after?
[00:00:19] Mira: Shorter, in a good way. The phone stayed in my coat pocket.
""",
}


@pytest.fixture
def sessions(env_vault: Path, tmp_path: Path) -> Path:
    for name, text in SESSIONS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert main(["import", "--me", "Mira", str(tmp_path / name)]) == 0
    return env_vault


def _judge(monkeypatch: pytest.MonkeyPatch, word: str) -> PrefersWord:
    judge = PrefersWord(word)
    monkeypatch.setattr(service, "_default_judge_factory", lambda: judge)
    return judge


QUESTION = "the evenings with my phone"


def test_deeper_reorders_the_quotes_and_keeps_the_json_shape(
    sessions: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_out, _ = _run(capsys, ["quotes", QUESTION, "--k", "5", "--json"])
    fast = json.loads(fast_out)
    last = fast["hits"][-1]["text"]
    assert "herons" not in fast["hits"][0]["text"]
    judge = _judge(monkeypatch, "herons")

    out, err = _run(capsys, ["quotes", QUESTION, "--k", "5", "--json", "--deeper"])
    deeper = json.loads(out)  # stdout is the JSON alone; the note went to stderr
    assert "reads each of the top ten moments" in err
    assert set(deeper) == set(fast)
    assert set(deeper["timings"]) == {*fast["timings"], "judge_ms"}
    assert "herons" in deeper["hits"][0]["text"]
    assert [h["rank"] for h in deeper["hits"]] == list(range(1, len(deeper["hits"]) + 1))
    assert {h["text"] for h in deeper["hits"]} == {h["text"] for h in fast["hits"]}
    assert last in {h["text"] for h in deeper["hits"]}
    assert judge.read and len(judge.read) <= 10


def test_deeper_as_a_person_reads_it(
    sessions: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _judge(monkeypatch, "herons")
    out, err = _run(capsys, ["quotes", QUESTION, "--k", "2", "--deeper"])
    assert "takes a while" in err
    first = out.split("2.")[0]
    assert "1." in first and "herons" in first
    assert "Searching deeper" not in out


def test_deeper_without_the_extra_says_how_to_install_it(
    sessions: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundled, "_JUDGE_PART_PACKAGES", ("reflect_no_such_judge_part",))
    opened: list[Any] = []
    monkeypatch.setattr(service.Reflect, "open_index", lambda *a, **k: opened.append(a))

    out, err = _run(capsys, ["quotes", QUESTION, "--deeper", "--json"], code=1)
    assert out == ""
    assert err.startswith("reflect: Deeper search not installed: ")
    assert "pip install 'reflect[deep-search]'" in err
    assert "top ten" not in err  # said before the search began, not after its note
    assert opened == []  # and before the index was opened for nothing
