"""Hostile or odd input files are refused one by one, in bounded time and memory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

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


def docx_with_body(body_chunks: Any, repeat: int) -> bytes:
    """A real .docx (from python-docx's template) whose document.xml is replaced."""
    import io
    import zipfile

    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info, source.read(info))
                continue
            with target.open("word/document.xml", "w", force_zip64=True) as f:
                f.write(
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
                    b'wordprocessingml/2006/main"><w:body>'
                )
                block = body_chunks * 100_000
                for _ in range(repeat // 100_000):
                    f.write(block)
                f.write(b"</w:body></w:document>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("piece", "count"),
    [
        (b"<w:p/>", 31_000_000),  # the reported file: 186 MB of XML in about 300 KB
        (b"<w:p/>", 2_000_000),  # small enough in bytes, far too many elements
    ],
)
def test_a_docx_declaring_millions_of_paragraphs_is_refused_quickly(
    piece: bytes, count: int
) -> None:
    import resource
    import time

    from reflect.errors import TranscriptError
    from reflect.formats import parse_transcript

    data = docx_with_body(piece, count)
    assert len(data) < 1_000_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(TranscriptError, match=r"too large|too many"):
        parse_transcript(data, "2024-05-05 session.docx")
    assert time.monotonic() - started < 5
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 150 * 1024


def test_import_off_a_terminal_reports_each_file_as_it_starts(
    env_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A huge transcript takes minutes to index; a log must show what is being worked on."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "2024-05-03 one.vtt").write_text(GOOD_VTT)
    (folder / "2024-05-04 two.vtt").write_text(GOOD_VTT.replace("Boxes", "Crates"))
    capsys.readouterr()
    assert main(["import", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "Importing 2024-05-03 one.vtt (1 of 2)…" in err
    assert "Importing 2024-05-04 two.vtt (2 of 2)…" in err
    assert err.index("(1 of 2)") < err.index("(2 of 2)") < err.index("2 imported")


def one_line_transcript(size: int) -> str:
    """One line of invented words, `size` characters: no turns, no sentences to cut at."""
    words = ["walk", "the", "dog", "garden", "sister", "morning", "quiet", "letter", "rain"]
    text, n = [], 0
    while n < size:
        word = words[(n * 7 + len(text)) % len(words)]
        text.append(word)
        n += len(word) + 1
    return " ".join(text) + "\n"


def test_a_long_one_line_transcript_reports_its_indexing_off_a_terminal(
    env_vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Embedding a 10 MB line takes minutes (see SECURITY.md): a log shows it moving."""
    from reflect import cli, ingest

    monkeypatch.setattr(ingest, "INDEXING_TICK_SECONDS", 0.0)
    monkeypatch.setattr(cli, "INDEXING_LINE_SECONDS", 0.0)
    source = tmp_path / "2024-05-05 long.txt"
    source.write_text(one_line_transcript(150_000))
    capsys.readouterr()
    assert main(["import", str(source)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    import re

    counts = [
        (int(done.replace(",", "")), int(total.replace(",", "")))
        for done, total in re.findall(r"indexing 2024-05-05 long\.txt: ([\d,]+) of ([\d,]+)", err)
    ]
    assert len(counts) >= 3
    total = counts[0][1]
    assert total > 64 and all(t == total for _, t in counts)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts) and counts[-1][0] == total
    assert (
        err.index("Importing 2024-05-05 long.txt") < err.index("indexing") < err.index("1 imported")
    )


def test_a_long_one_line_transcript_reports_its_indexing_in_json(
    env_vault: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "2024-05-05 long.txt"
    source.write_text(one_line_transcript(150_000))
    capsys.readouterr()
    assert main(["import", "--json", str(source)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    indexing = [e["indexing"] for e in events if e["event"] == "progress" and "indexing" in e]
    # The first and the last always; one a second between them, so a log isn't flooded.
    assert indexing[0]["passages_done"] == 0
    assert indexing[-1]["passages_done"] == indexing[-1]["passages_total"] > 64
    assert {e["file"] for e in indexing} == {"2024-05-05 long.txt"}
    assert len(indexing) <= 2 + max(e["elapsed_s"] for e in events if e["event"] == "progress")


def test_a_10_mb_line_is_parsed_and_cut_into_passages_in_bounded_time() -> None:
    """Measured at about 3 s (issue #13): only embedding is slow, and it reports progress."""
    import time

    from reflect.chunking import chunk_session
    from reflect.formats import parse_transcript
    from reflect.session import Session, build_text

    data = one_line_transcript(10_000_000).encode()
    started = time.monotonic()
    parsed = parse_transcript(data, "long.txt")
    text, turns = build_text(parsed.turns)
    session = Session(
        "s1", "t", dt.date(2024, 5, 5), "user", "long.txt", "h", "", "text", text, turns
    )
    chunks = chunk_session(session)
    assert len(chunks) > 5_000
    assert time.monotonic() - started < 60


def test_transcripts_and_handouts_are_read_by_one_bounded_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reflect import handouts, ingest
    from reflect.errors import TranscriptError

    text = tmp_path / "notes.txt"
    text.write_text("Mira: The move, mostly.\n" * 5)
    monkeypatch.setattr(ingest, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(handouts, "MAX_TEXT_BYTES", 100)
    with pytest.raises(TranscriptError, match="reflect takes at most"):
        ingest.read_file(text)
    with pytest.raises(handouts.HandoutError, match="a handout is at most"):
        handouts.read_handout(text)
    # The same plain words for every file that can't be read, whichever way it came in.
    for read in (ingest.read_file, handouts.read_handout):
        with pytest.raises(TranscriptError, match="there is no such file"):
            read(tmp_path / "gone.txt")
        folder = tmp_path / "a folder.txt"
        folder.mkdir(exist_ok=True)
        with pytest.raises(TranscriptError, match="this is a folder"):
            read(folder)
