"""Files that are not readable handouts: each is a HandoutError naming the file and quoting
nothing from it, within bounded time and memory, and nothing is stored. The PDFs are made in
set-up (tests/pdf_fixtures.py) from invented handout text."""

from __future__ import annotations

import random
import sys
import time
import zlib
from pathlib import Path

import pytest

from reflect import crypto
from reflect.formats import pdf
from reflect.handouts import HandoutError, read_handout
from reflect.service import Reflect
from reflect.testing import store_of
from tests.conftest import PASSPHRASE
from tests.pdf_fixtures import SLEEP_HYGIENE, locked, make_pdf
from tests.test_formats_bad_input import assert_quotes_nothing

GOOD = make_pdf(SLEEP_HYGIENE)


def refused(tmp_path: Path, data: bytes, name: str = "worksheet.pdf") -> HandoutError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(HandoutError) as caught:
        read_handout(path)
    error = caught.value
    assert error.filename == name and name in str(error)
    assert error.reason and "\n" not in error.reason and len(error.reason) < 130
    assert_quotes_nothing(error, data)
    return error


def test_a_good_pdf_reads_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "sleep.pdf"
    path.write_bytes(GOOD)
    read = read_handout(path)
    assert [n for n, _ in read.pages] == [1, 2]
    assert read.pages[0][1].startswith("Sleep hygiene\nKeep the same wake-up time")


def test_scanned_pdf_needs_ocr(tmp_path: Path) -> None:
    error = refused(tmp_path, make_pdf([["a"], ["b"]], scanned=True))
    assert "OCR" in error.reason and "scanned" in error.reason


def test_password_locked_pdf(tmp_path: Path) -> None:
    assert "password" in refused(tmp_path, locked(GOOD)).reason


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_pdf(tmp_path: Path, keep: float) -> None:
    refused(tmp_path, GOOD[: int(len(GOOD) * keep)])


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n%%EOF\n",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-1.4\n" + b"[" * 200_000 + b"\n%%EOF",  # nesting far past any parser's stack
        b"not a pdf at all, only words about a garden",
        b"\x89PNG\r\n\x1a\n" + bytes(200),
    ],
    ids=["empty-body", "self-referencing", "deep-nesting", "text", "png"],
)
def test_hostile_and_wrong_files(tmp_path: Path, data: bytes) -> None:
    refused(tmp_path, data)


def test_decompression_bomb_is_bounded(tmp_path: Path) -> None:
    """A 200 KB stream that inflates to 200 MB of nothing: refused or read, in bounded time."""
    bomb = zlib.compress(b"\x00" * (200 * 1024 * 1024), 9)
    good = make_pdf([["Breathing: in for four, out for six."]], compress=False)
    content = good.index(b"<< /Length")
    end = good.index(b"endstream", content) + len(b"endstream")
    hostile = (
        good[:content]
        + b"<< /Filter /FlateDecode /Length "
        + str(len(bomb)).encode()
        + b" >>\nstream\n"
        + bomb
        + b"\nendstream"
        + good[end:]
    )
    started = time.monotonic()
    path = tmp_path / "bomb.pdf"
    path.write_bytes(hostile)
    try:
        read_handout(path)
    except HandoutError as error:
        assert error.filename == "bomb.pdf"
    assert time.monotonic() - started < pdf.PDF_WALL_SECONDS + 5


@pytest.mark.parametrize("seed", range(12))
def test_mutated_pdfs_are_read_or_refused_never_crash(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(GOOD)
    for _ in range(rng.randint(1, 40)):
        data[rng.randrange(len(data) - 10)] = rng.randrange(256)
    path = tmp_path / f"mutant-{seed}.pdf"
    path.write_bytes(bytes(data))
    try:
        read = read_handout(path)
    except HandoutError as error:
        assert error.filename == path.name
        assert_quotes_nothing(error, bytes(data))
    else:
        assert read.pages and all(text.strip() for _, text in read.pages)


def test_too_many_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = make_pdf([[f"Page {n}"] for n in range(pdf.MAX_PAGES + 1)])
    assert "pages" in refused(tmp_path, many).reason


def test_too_large_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reflect.handouts.MAX_PDF_BYTES", len(GOOD) - 1)
    assert "MB" in refused(tmp_path, GOOD).reason


def test_a_reader_that_hangs_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "_CHILD", [sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(pdf, "PDF_WALL_SECONDS", 1)
    started = time.monotonic()
    assert "too long" in refused(tmp_path, GOOD).reason
    assert time.monotonic() - started < 10


def test_the_reader_cannot_take_unbounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    greedy = (
        "from reflect.formats.pdf import limit_this_process; limit_this_process(); "
        'hog = bytearray(3 * 1024 ** 3); print(\'{"pages": ["x"]}\')'
    )
    monkeypatch.setattr(pdf, "_CHILD", [sys.executable, "-c", greedy])
    assert "readable" in refused(tmp_path, GOOD).reason


def test_nothing_is_stored_for_a_refused_handout(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_pdf([["x"]], scanned=True))
    with Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params()) as service:
        before = store_of(service).vault.status().generation
        with pytest.raises(HandoutError):
            service.documents.import_handout(scan)
        assert store_of(service).catalog() == []
        assert store_of(service).vault.status().generation == before


def test_page_text_is_storable_whatever_the_pdf_held() -> None:
    from reflect.handouts import tidy

    page = tidy("Breathe\x00 in\ud800 slowly\r\n\n\n\nthen out.  ")
    assert page == "Breathe  in\ufffd slowly\n\nthen out."
    page.encode("utf-8")  # no half pairs or NULs left to break storing it
