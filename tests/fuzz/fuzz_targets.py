"""Coverage-guided fuzzing with atheris (libFuzzer) of what reads untrusted bytes.

    python tests/fuzz/fuzz_targets.py TARGET [libFuzzer options] [CORPUS_DIR...]

TARGET is one of: transcripts, sealed, index_record, audio, pdf. Each input goes to the reader,
and only the documented error class may come out: anything else, a hang past -timeout or
memory past -rss_limit_mb is a finding, and libFuzzer stops with the input that caused it.
tests/test_fuzz_atheris.py runs every target for a bounded number of inputs; run one for
longer by hand with e.g. `-max_total_time=600`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["reflect", "pypdf"]):
    from reflect import crypto
    from reflect.errors import IndexRecordError, TranscriptError, VaultCorrupted, VaultTooNew
    from reflect.formats import parse_transcript
    from reflect.formats.pdf_pages import pages_of
    from reflect.index_record import decode_index_record

# Every format the importer picks by extension; the fuzzer chooses one per input.
EXTENSIONS = (".vtt", ".srt", ".txt", ".md", ".json", ".docx")
KEY = bytes(range(32))
OBJECT_ID = bytes(16)


def transcripts(data: bytes) -> None:
    if not data:
        return
    extension = EXTENSIONS[data[0] % len(EXTENSIONS)]
    try:
        parsed = parse_transcript(data[1:], f"fuzzed{extension}")
    except TranscriptError:
        return
    for turn in parsed.turns:
        assert isinstance(turn.text, str) and turn.text.strip(), "empty turn came out"
        if turn.start is not None and turn.end is not None:
            assert turn.end >= turn.start >= 0, "turn ends before it starts"


def sealed(data: bytes) -> None:
    # The seed opens (it was sealed with KEY); every mutation of it must fail cleanly.
    try:
        crypto.open_sealed(KEY, "data", data, expected_id=OBJECT_ID, what="fuzzed object")
    except (VaultCorrupted, VaultTooNew):
        return


def index_record(data: bytes) -> None:
    try:
        decode_index_record(data)
    except IndexRecordError:
        return


def audio(data: bytes) -> None:
    from reflect.audio import AudioError, decode, probe

    try:
        info = probe(data, name="fuzzed.ogg")
        decode(data, name="fuzzed.ogg", end=min(info.duration, 5.0))
    except AudioError:
        return


def pdf(data: bytes) -> None:
    # What the handout reader's child process does with a PDF (reflect/formats/pdf.py): in
    # the product it runs under CPU, memory and time limits; here libFuzzer's are the limits.
    result = pages_of(data)
    assert set(result) in ({"pages"}, {"error"}), "neither pages nor an error"
    pages = result.get("pages")
    if pages is not None:
        assert isinstance(pages, list) and all(isinstance(p, str) for p in pages), "not text"


TARGETS: dict[str, Callable[[bytes], None]] = {
    "transcripts": transcripts,
    "sealed": sealed,
    "index_record": index_record,
    "audio": audio,
    "pdf": pdf,
}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
