"""End to end with the real bundled chat model and the real embedding model.

Two invented sessions (client Noor, therapist Dr. Hale) are indexed with all-MiniLM, and a
question they answer goes through the whole answering path on Qwen2.5-Coder-0.5B. llama.cpp
runs in a child process (this file run as a script), so a crash in native code shows up as
a clear test failure instead of killing pytest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

QUESTION = "What did my therapist suggest about my phone at night?"
# A quiet 2-core machine answers in about 10 s after ~2 s of loading; the bound leaves room
# for a busy one.
TIMEOUT_SECONDS = 240


@pytest.mark.slow
def test_real_model_answers_with_citations() -> None:
    try:
        from reflect.bundled import chat_model_path, embedding_model_path

        chat_model_path()
        embedding_model_path()
    except Exception as exc:  # the bundled models are part of the install
        pytest.fail(f"bundled models unavailable: {exc}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve())],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the real model took more than {TIMEOUT_SECONDS} s to answer")
    if result.returncode < 0:
        name = signal.Signals(-result.returncode).name
        pytest.fail(f"the answering process crashed with {name}:\n{result.stderr[-3000:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["found"] is True
    assert report["prompt_tokens"] > 100
    assert report["citations"], report
    assert "sleep" in {c["session_id"] for c in report["citations"]}, report
    for quote in report["quotes"]:
        assert quote["verified"] or quote["flagged"], report
    assert report["text"].strip(), report


def _run() -> dict[str, Any]:
    """The scenario, run in the child process; returns what the test checks."""
    from reflect.answer import Answerer, normalize_for_quote, quotes_in
    from reflect.bundled import chat_model_path
    from reflect.chunking import chunk_session, embedding_text
    from reflect.embedding import default_embedder
    from reflect.index import SearchIndex
    from reflect.llm import LlamaChatModel
    from reflect.retrieval import Retriever
    from reflect.session import Session, build_text
    from reflect.transcript import Turn

    def session(session_id: str, date: dt.date, turns: list[tuple[str, str]]) -> Session:
        text, stored = build_text([Turn(who, said, None, None) for who, said in turns])
        return Session(id=session_id, title=session_id.title(), date=date,
                       date_source="option", source_file=f"{session_id}.txt",
                       content_hash=session_id, imported_at="2025-06-01T10:00:00",
                       format="plain", text=text, turns=stored)

    sessions = [
        session("sleep", dt.date(2025, 2, 11), [
            ("Dr. Hale", "How has sleep been this fortnight?"),
            ("Noor", "Bad. I lie in bed scrolling on my phone until two in the morning, and "
                     "then I feel awful at work."),
            ("Dr. Hale", "What if the phone charged in the kitchen overnight, so it isn't "
                         "within reach of the bed? You could use an old alarm clock instead."),
            ("Noor", "I could try that. I have my grandad's alarm clock somewhere."),
        ]),
        session("work", dt.date(2025, 3, 4), [
            ("Dr. Hale", "How did the presentation go?"),
            ("Noor", "I was shaking, but I got through all twelve slides and my manager "
                     "said the budget section was clear."),
            ("Dr. Hale", "You did it even though you were scared. How did that feel?"),
            ("Noor", "Honestly, a bit proud. I treated myself to noodles afterwards."),
        ]),
    ]
    embedder = default_embedder()
    index = SearchIndex()
    for s in sessions:
        chunks = chunk_session(s, min_words=12, max_words=60)
        index.add_lexical(s, chunks)
        texts = [embedding_text(s, c, speaker_labels=True) for c in chunks]  # as LiveIndex
        index.add_vectors(s.id, chunks, embedder.embed(texts))
    model = LlamaChatModel(chat_model_path(), n_ctx=2048)
    answerer = Answerer(Retriever(index, embedder), embedder, lambda: model,
                        me_labels=["Noor"])
    answer = answerer.ask(QUESTION)
    cited = {n: hit for n, hit in answer.citations}

    def verified(quote: str) -> bool:
        needle = normalize_for_quote(quote)
        return any(needle in normalize_for_quote(hit.text) for hit in cited.values())

    return {
        "found": answer.found,
        "text": answer.text,
        "model_text": answer.model_text,
        "extractive": answer.extractive,
        "citations": [{"n": n, "session_id": hit.session_id} for n, hit in answer.citations],
        "quotes": [{"quote": q, "verified": verified(q), "flagged": q in answer.unverified_quotes}
                   for q in quotes_in(answer.text)],
        "prompt_tokens": answer.timings.prompt_tokens or 0,
        "ttft_ms": answer.timings.ttft_ms,
        "total_ms": answer.timings.total_ms,
        "dropped": answer.dropped_sentences,
    }


if __name__ == "__main__":
    print(json.dumps(_run()))
