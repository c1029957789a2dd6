"""Answer latency on this machine: reflect's whole path vs raw llama.cpp, and the prompt cache.

Indexes the invented demo sessions with the bundled embedding model, then for each question:

- cold: llama.cpp's context reset first, so the whole prompt is evaluated;
- warm: asked right after another question, so the system prompt and worked example (the
  stable prefix) are already in the KV cache and only excerpts + question are evaluated;
- raw: the same messages straight to `Llama.create_chat_completion`, cold, no checks.

.venv/bin/python bench/bench_answer.py [--threads N] [--questions N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path
from typing import Any

from reflect.answer import Answer, Answerer
from reflect.answer.model_answer import prompt_messages, stop_lines
from reflect.bundled import chat_model_path
from reflect.chunking import chunk_session, embedding_text
from reflect.embedding import default_embedder
from reflect.formats import parse_transcript
from reflect.formats.filename_dates import date_from_filename
from reflect.index import SearchIndex
from reflect.llm import LlamaChatModel
from reflect.retrieval import Retriever
from reflect.session import Session, build_text

DEMO = Path(__file__).resolve().parent.parent / "reflect" / "demo" / "sessions"
QUESTIONS = [
    "what did I say about my phone at night?",
    "what did my therapist suggest about the phone?",
    "what did I say about the wedding speech?",
    "what happened on the train before Oakhurst?",
    "how much was I drinking?",
    "what did I say about my gran?",
]
WARM_UP = "what did we say about sleep?"


def demo_retriever() -> Retriever:
    embedder = default_embedder()
    index = SearchIndex()
    for number, path in enumerate(sorted(DEMO.iterdir())):
        if path.suffix not in (".vtt", ".srt", ".txt", ".md", ".json"):
            continue
        parsed = parse_transcript(path.read_bytes(), path.name)
        text, turns = build_text(parsed.turns)
        session = Session(
            id=f"s{number}", title=parsed.title or path.stem,
            date=date_from_filename(path.name) or dt.date(2026, 1, 1), date_source="filename",
            source_file=path.name, content_hash=str(number), imported_at="bench",
            format=parsed.format, text=text, turns=turns,
        )
        chunks = chunk_session(session)
        index.add_lexical(session, chunks)
        index.add_vectors(session.id, chunks,
                          embedder.embed([embedding_text(session, c, speaker_labels=True)
                                          for c in chunks]))
    return Retriever(index, embedder)


def raw_llama(model: LlamaChatModel, messages: list[dict[str, str]], stop: list[str],
              max_tokens: int) -> dict[str, float]:
    llama: Any = model._llama
    llama.reset()
    began = time.perf_counter()
    first: float | None = None
    pieces = 0
    for chunk in llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                              stop=stop, temperature=0.0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
            pieces += 1
    end = time.perf_counter()
    gen = end - (first or end)
    return {"ttft_ms": ((first or end) - began) * 1000, "total_ms": (end - began) * 1000,
            "tok_s": (pieces - 1) / gen if pieces > 1 and gen > 0 else 0.0}


def prefix_cache_probe(model: LlamaChatModel, answerer: Answerer, rounds: int = 3
                       ) -> tuple[float, float, int, int]:
    """Prompt evaluation only (one generated token): cold (context reset) vs warm (another
    question's prompt in the cache, so only excerpts + question differ). Medians, seconds."""
    first = answerer.prepare(QUESTIONS[0])
    second = answerer.prepare(QUESTIONS[2])
    cold_s, warm_s = [], []
    for _ in range(rounds):
        model._llama.reset()
        began = time.perf_counter()
        list(model.stream(prompt_messages(answerer.prompts, second.question, second.excerpts),
                          max_tokens=1, stop=[]))
        cold_s.append(time.perf_counter() - began)
        list(model.stream(prompt_messages(answerer.prompts, first.question, first.excerpts),
                          max_tokens=1, stop=[]))
        began = time.perf_counter()
        list(model.stream(prompt_messages(answerer.prompts, second.question, second.excerpts),
                          max_tokens=1, stop=[]))
        warm_s.append(time.perf_counter() - began)
    usage = model.last_usage
    assert usage is not None
    return (statistics.median(cold_s), statistics.median(warm_s), usage.prompt_tokens,
            usage.reused_tokens)


def row(answer: Answer, reused: int) -> dict[str, float]:
    t = answer.timings
    return {"prompt": float(t.prompt_tokens or 0), "reused": float(reused),
            "ttft_ms": t.ttft_ms or 0.0, "total_ms": t.total_ms, "tok_s": t.tokens_per_s or 0.0,
            "retrieval_ms": t.retrieval_ms}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--prefix-only", action="store_true",
                        help="only measure the prompt cache (prompt evaluation time)")
    args = parser.parse_args()

    began = time.perf_counter()
    retriever = demo_retriever()
    index_s = time.perf_counter() - began
    began = time.perf_counter()
    model = LlamaChatModel(chat_model_path(), n_threads=args.threads)
    load_s = time.perf_counter() - began
    answerer = Answerer(retriever, retriever.embedder, lambda: model, me_labels=["Sam"])
    print(f"index {index_s:.1f} s, model load {load_s:.1f} s, chat format {model.chat_format}, "
          f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}", flush=True)
    cold, warm, prompt, reused = prefix_cache_probe(model, answerer)
    print(f"prompt cache: {prompt} prompt tokens, {reused} reused; evaluation cold {cold:.2f} s,"
          f" warm {warm:.2f} s ({prompt / cold:.0f} tok/s cold)", flush=True)
    if args.prefix_only:
        return

    header = (f"{'question':46} {'prompt':>6} {'reused':>6} {'ttft cold':>9} "
              f"{'ttft warm':>9} {'total':>7} {'tok/s':>6} {'raw ttft':>8} {'raw tot':>7} "
              f"{'raw tok/s':>9}")
    print(header)
    print("-" * len(header))
    colds, warms, raws = [], [], []
    for question in QUESTIONS[: args.questions]:
        model._llama.reset()
        cold = answerer.ask(question)
        cold_row = row(cold, model.last_usage.reused_tokens if model.last_usage else 0)
        answerer.ask(WARM_UP)  # another question's prompt now sits in the cache
        warm = answerer.ask(question)
        warm_row = row(warm, model.last_usage.reused_tokens if model.last_usage else 0)
        messages = prompt_messages(answerer.prompts, warm.question, warm.excerpts)
        raw = raw_llama(model, messages, stop_lines(warm.excerpts),
                        answerer.settings.max_answer_tokens)
        colds.append(cold_row)
        warms.append(warm_row)
        raws.append(raw)
        print(f"{question[:46]:46} {cold_row['prompt']:6.0f} {warm_row['reused']:6.0f} "
              f"{cold_row['ttft_ms'] / 1000:8.2f}s {warm_row['ttft_ms'] / 1000:8.2f}s "
              f"{warm_row['total_ms'] / 1000:6.2f}s {warm_row['tok_s']:6.1f} "
              f"{raw['ttft_ms'] / 1000:7.2f}s {raw['total_ms'] / 1000:6.2f}s "
              f"{raw['tok_s']:9.1f}", flush=True)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print("-" * len(header))
    print(f"median ttft: cold {median(colds, 'ttft_ms') / 1000:.2f} s, warm "
          f"{median(warms, 'ttft_ms') / 1000:.2f} s (prefix of {median(warms, 'reused'):.0f} "
          f"of {median(colds, 'prompt'):.0f} tokens reused), raw llama.cpp cold "
          f"{median(raws, 'ttft_ms') / 1000:.2f} s")
    print(f"median generation: reflect {median(warms, 'tok_s'):.1f} tok/s, raw "
          f"{median(raws, 'tok_s'):.1f} tok/s; retrieval + evidence "
          f"{median(warms, 'retrieval_ms'):.0f} ms")


if __name__ == "__main__":
    main()
