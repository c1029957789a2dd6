"""A therapist's handout or worksheet (PDF, Word or Markdown) read into pages of text.

A handout is not a session: nobody speaks in it and it has no times, so each page with text
becomes one turn with no speaker, and the page number stands where a time would
(reflect/documents.py stores it; reflect/sources.py cites it as "handout: Sleep hygiene,
page 2"). Every refusal is a HandoutError naming the file, and nothing is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from reflect.errors import TranscriptError
from reflect.formats.encoding import decode_text, known_binary_kind
from reflect.formats.pdf import MAX_PDF_BYTES, MAX_TEXT_CHARS, read_pdf_pages
from reflect.fsutil import read_bounded
from reflect.safe_text import terminal

HANDOUT_EXTENSIONS = frozenset({".pdf", ".docx", ".md", ".markdown", ".txt"})
MAX_DOCX_BYTES = 20 * 1024 * 1024
MAX_TEXT_BYTES = 5 * 1024 * 1024
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class HandoutError(TranscriptError):
    """A file could not be read as a handout. Names the file, never its content."""

    title = "Couldn't read handout"


@dataclass(frozen=True, slots=True)
class HandoutText:
    """The pages that hold text, as (page number, text), in order; the file's own title when
    it has one (a Markdown heading, a Word title)."""

    pages: list[tuple[int, str]]
    format: str  # "pdf" | "docx" | "markdown" | "text"
    title: str | None = None
    digest: str = ""  # SHA-256 of the file's bytes: the same file imported twice is one handout


def read_handout(path: Path) -> HandoutText:
    name = path.name
    extension = path.suffix.lower()
    if extension not in HANDOUT_EXTENSIONS:
        raise HandoutError(
            name, "a handout must be a PDF, Word (.docx), Markdown (.md) or text (.txt) file"
        )
    limit = {".pdf": MAX_PDF_BYTES, ".docx": MAX_DOCX_BYTES}.get(extension, MAX_TEXT_BYTES)
    data = read_bounded(path, limit, at_most="a handout is at most", error=HandoutError)
    if not data.strip():
        raise HandoutError(name, "the file is empty")
    try:
        if extension == ".pdf":
            handout = HandoutText(_numbered(read_pdf_pages(data, name)), "pdf")
        elif extension == ".docx":
            handout = _docx(data, name)
        else:
            handout = _text(data, name, markdown=extension != ".txt")
    except HandoutError:
        raise
    except TranscriptError as e:
        raise HandoutError(e.filename, e.reason) from None
    if not handout.pages:
        raise HandoutError(name, "no text was found in this file")
    if sum(len(text) for _, text in handout.pages) > MAX_TEXT_CHARS:
        raise HandoutError(name, "this file holds too much text to be a handout")
    return dataclasses.replace(handout, digest=hashlib.sha256(data).hexdigest())


def tidy(text: str) -> str:
    """A page's text with trailing spaces and runs of blank lines gone, control characters
    made spaces and broken characters (half a UTF-16 pair, which a PDF's text can hold and no
    stored text can) made "�": the words as extracted, nothing else changed."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SURROGATE.sub("\ufffd", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _numbered(pages: list[str]) -> list[tuple[int, str]]:
    """Pages with text, numbered as in the file (an empty page keeps its number)."""
    return [(n, text) for n, raw in enumerate(pages, 1) if (text := tidy(raw))]


def _text(data: bytes, name: str, *, markdown: bool) -> HandoutText:
    binary = known_binary_kind(data)
    if binary is not None:
        raise HandoutError(name, binary)
    text = decode_text(data, name)
    # Markdown has no pages; a form feed (a page break in a text file) starts one.
    pages = _numbered(text.split("\f"))
    title = None
    if markdown:
        for line in text.splitlines():
            if m := _HEADING.match(line):
                title = terminal(m.group(1)).strip() or None
                break
    return HandoutText(pages, "markdown" if markdown else "text", title)


def _docx(data: bytes, name: str) -> HandoutText:
    """Paragraphs and tables in order; a new page wherever Word broke one (a hard page break,
    or where it last laid one out). The same zip-bomb checks as a Word transcript."""
    import docx
    from docx.table import Table

    from reflect.formats import word

    damaged = "this isn't a readable Word (.docx) file (it may be damaged)"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise HandoutError(name, "this is an old-style Word .doc file; save it as .docx first")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            word._check_size(archive, name)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise HandoutError(name, damaged) from None
    try:
        document = docx.Document(io.BytesIO(data))
        pages: list[list[str]] = [[]]
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                pages[-1].extend(word._table_lines(block))
                continue
            if (block.contains_page_break or _hard_break(block)) and any(pages[-1]):
                pages.append([])
            pages[-1].extend([block.text, ""])
        title = word._core_properties(document)[0]
    except HandoutError:
        raise
    except Exception:
        raise HandoutError(name, damaged) from None
    return HandoutText(_numbered(["\n".join(lines) for lines in pages]), "docx", title)


def _hard_break(paragraph: object) -> bool:
    element = getattr(paragraph, "_element", None)
    if element is None:
        return False
    return bool(element.xpath('./w:r/w:br[@w:type="page"]'))
