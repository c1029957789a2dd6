"""Deeper search (reflect/judge.py): the top candidates reordered by a judge, opt-in.

The judge here is a stand-in (reflect.testing.FakeJudge, or PrefersWord); the
real model is tried once at the end, only where the optional extra is installed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from reflect import bundled, crypto
from reflect.bundled import JudgeModelNotInstalled
from reflect.errors import ReflectError
from reflect.excerpts import ExcerptLine
from reflect.ingest import ImportOptions
from reflect.judge import EXCERPT_CHARS, JUDGE_DEPTH, judge_excerpt, judge_prompt, rerank
from reflect.retrieval import Hit
from reflect.service import Reflect
from reflect.testing import FakeJudge, PrefersWord
from tests.conftest import PASSPHRASE

WINTER = """[00:00:02] Dr. Amani: You mentioned the night shifts.
[00:00:06] Noor: They wreck my sleep. I lie awake counting the ceiling tiles until four.
[00:00:19] Dr. Amani: Let's try a wind-down routine: no screens after ten, a warm drink.
"""
SPRING = """[00:00:03] Dr. Amani: How did the week go with the allotment?
[00:00:08] Noor: I planted the broad beans on Tuesday, and I didn't check my email once.
[00:00:25] Noor: The kettle whistled and I just stood there, no screens, watching the rain.
"""


def hit(rank: int, text: str) -> Hit:
    return Hit(
        rank,
        1.0 / rank,
        "s1",
        "Session",
        dt.date(2025, 1, 1),
        "s1.txt",
        None,
        None,
        None,
        text,
        0,
        len(text),
        0,
        0,
    )


@pytest.fixture
def service(tmp_path: Path) -> Reflect:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    for name, text in (("2025-01-10 winter.txt", WINTER), ("2025-04-02 spring.txt", SPRING)):
        (tmp_path / name).write_text(text)
        service.import_paths([tmp_path / name], ImportOptions(me="Noor"))
    service.open_index()
    return service


def test_rerank_orders_the_judged_by_p_yes_and_keeps_the_rest() -> None:
    hits = [hit(i, f"excerpt {i}") for i in range(1, 6)]
    out = rerank(hits, [0.2, 0.9, 0.2, 0.5])
    assert [h.text for h in out] == [
        "excerpt 2",
        "excerpt 4",
        "excerpt 1",
        "excerpt 3",
        "excerpt 5",
    ]
    assert [h.rank for h in out] == [1, 2, 3, 4, 5]
    assert hits[1].rank == 2  # the search's hits are not changed


def test_a_verbatim_match_stays_first_whatever_the_judge_says() -> None:
    hits = [hit(i, f"excerpt {i}") for i in range(1, 4)]
    hits[0].exact = True
    out = rerank(hits, [0.1, 0.2, 0.9])
    assert [h.text for h in out] == ["excerpt 1", "excerpt 3", "excerpt 2"]


def test_the_judge_reads_the_user_as_you_and_a_capped_excerpt() -> None:
    lines = [
        ExcerptLine("Dr. Amani", None, "How was the week?", 0),
        ExcerptLine("Noor", None, " Long. " + "word " * 200, 18),
    ]
    text = judge_excerpt(lines, ["Noor"])
    assert text.startswith("Dr. Amani: How was the week?\nYou: Long. word")
    assert len(text) <= EXCERPT_CHARS + 4 and text.endswith(" ...")


def test_the_prompt_shows_the_excerpt_before_the_question() -> None:
    prompt = judge_prompt("when did I mention the kettle?", "You: The kettle whistled.")
    assert prompt.index("The kettle whistled") < prompt.index("when did I mention")
    assert prompt.endswith("<|im_start|>assistant\n")


def test_deeper_quotes_puts_the_judged_moment_first(service: Reflect) -> None:
    question = "when did I say no screens helped?"
    fast = service.quotes(question, k=5)
    judge = PrefersWord("kettle")
    deeper = service.deeper_quotes(question, k=3, judge=judge)
    assert "kettle" in deeper.hits[0].text
    assert [h.rank for h in deeper.hits] == list(range(1, len(deeper.hits) + 1))
    assert len(judge.read) == min(JUDGE_DEPTH, len(service.quotes(question, k=20).hits))
    assert {h.text for h in deeper.hits} <= {h.text for h in service.quotes(question, k=20).hits}
    assert "judge_ms" in deeper.timings and deeper.understood == fast.understood
    lines = [line for e in judge.read for line in e.splitlines()]
    assert all(line.startswith(("You: ", "Dr. Amani: ")) for line in lines), lines


def test_fake_judge_scores_by_shared_words(service: Reflect) -> None:
    judge = FakeJudge()
    result = service.deeper_quotes("ceiling tiles at night", k=2, judge=judge)
    assert "ceiling tiles" in result.hits[0].text
    assert judge.calls and all(q == "ceiling tiles at night" for q, _ in judge.calls)


def test_without_the_extra_deeper_search_says_how_to_install_it(
    service: Reflect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundled, "_JUDGE_PART_PACKAGES", ("reflect_no_such_judge_part",))
    assert not bundled.judge_model_installed()
    with pytest.raises(JudgeModelNotInstalled) as caught:
        service.deeper_quotes("ceiling tiles")
    assert isinstance(caught.value, ReflectError)
    assert "reflect[deep-search]" in str(caught.value)


def _fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sha256: str) -> list[Path]:
    parts = []
    for i, data in enumerate((b"judge model, first slice;", b" second slice")):
        part = tmp_path / f"part{i:02d}.bin"
        part.write_bytes(data)
        parts.append(part)
    monkeypatch.setattr(bundled, "judge_model_parts", lambda: parts)
    monkeypatch.setattr(bundled, "JUDGE_MODEL_SIZE", sum(p.stat().st_size for p in parts))
    monkeypatch.setattr(bundled, "JUDGE_MODEL_SHA256", sha256)
    return parts


def test_the_judge_model_is_joined_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = b"judge model, first slice; second slice"
    _fake_parts(tmp_path, monkeypatch, hashlib.sha256(whole).hexdigest())
    path = bundled.judge_model_path(tmp_path / "cache")
    assert path.read_bytes() == whole
    assert path.name == bundled.JUDGE_MODEL_FILENAME


def test_a_judge_model_failing_its_checksum_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_parts(tmp_path, monkeypatch, "0" * 64)
    with pytest.raises(bundled.ModelNotFound, match=r"checksum.*reflect\[deep-search\]"):
        bundled.judge_model_path(tmp_path / "cache")
    assert not (tmp_path / "cache" / bundled.JUDGE_MODEL_FILENAME).exists()


@pytest.mark.slow
def test_real_judge_prefers_the_right_excerpt(tmp_path: Path) -> None:
    if not bundled.judge_model_installed():
        pytest.skip("the optional deep-search model is not installed")
    from reflect.judge import LlamaJudge

    judge = LlamaJudge(bundled.judge_model_path(tmp_path), n_threads=2)
    question = "the bit where I said the night shifts wreck my sleep"
    right = "Dr. Amani: You mentioned the night shifts.\nYou: They wreck my sleep. I lie awake."
    wrong = "Dr. Amani: How did the week go?\nYou: I planted the broad beans on Tuesday."
    assert judge.p_yes(question, right) > judge.p_yes(question, wrong)
