"""Word documents (.docx): the paragraphs (and table rows) go through the plain-text rules,
so "Speaker: text" and Otter.ai exports work the same as in .txt files."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import docx
from docx.document import Document
from docx.table import Table

from reflect.errors import TranscriptError
from reflect.formats.plaintext import parse_lines
from reflect.formats.turns import one_line
from reflect.transcript import ParsedTranscript

_DAMAGED = "this isn't a readable Word (.docx) file (it may be damaged)"

# A .docx is a zip archive; its declared uncompressed size is checked before python-docx
# inflates everything into memory, so a small "zip bomb" cannot exhaust it.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024

# Parsing builds a tree of every element (python-docx then wraps each paragraph), so a few
# hundred KB that inflate to millions of empty paragraphs would cost gigabytes and minutes.
# The XML is bounded before parsing: by its declared size, then by counting elements while
# inflating it in pieces. A two-hour session in Word is some tens of thousands of elements.
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_XML_ELEMENTS = 500_000
_READ_PIECE = 1024 * 1024

# Documents made from python-docx's built-in template keep the template's creation time;
# it says nothing about the session.
_PYTHON_DOCX_TEMPLATE_CREATED = dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.UTC)


def parse_docx(data: bytes, filename: str, *, max_text_bytes: int) -> ParsedTranscript:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TranscriptError(
            filename, "this is an old-style Word .doc file; save it as .docx in Word first"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_size(archive, filename)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise TranscriptError(filename, _DAMAGED) from None

    try:
        document = docx.Document(io.BytesIO(data))
        lines = _document_lines(document)
    except Exception:
        # python-docx has no error type of its own: a damaged file surfaces as KeyError,
        # BadZipFile, lxml's XMLSyntaxError, ValueError... Any of them means the same here.
        raise TranscriptError(filename, _DAMAGED) from None
    if sum(len(line.encode()) for line in lines) > max_text_bytes:
        raise TranscriptError(filename, "this document has too much text to be a transcript")

    layout = parse_lines(lines)
    if not layout.turns:
        raise TranscriptError(filename, "no transcript text was found in this document")
    title, created = _core_properties(document)
    return ParsedTranscript(turns=layout.turns, format="docx", title=title, date=created)


def _check_size(archive: zipfile.ZipFile, filename: str) -> None:
    too_large = TranscriptError(filename, "this document is too large to be a transcript")
    infos = archive.infolist()
    if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        raise too_large
    xml = [info for info in infos if info.filename.lower().endswith((".xml", ".rels"))]
    if any(info.file_size > MAX_XML_BYTES for info in xml):
        raise too_large
    elements = 0
    for info in xml:
        # Declared sizes can lie; the count is taken on what actually inflates.
        with archive.open(info) as part:
            inflated = 0
            while piece := part.read(_READ_PIECE):
                inflated += len(piece)
                elements += piece.count(b"<")
                if inflated > MAX_XML_BYTES or elements > MAX_XML_ELEMENTS:
                    raise TranscriptError(
                        filename, "this document has too many parts to be a transcript"
                    )


def _document_lines(document: Document) -> list[str]:
    """Lines in document order; a blank line after every paragraph, since a Word paragraph
    is a paragraph (soft line breaks inside one are just wrapped lines)."""
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
        else:
            lines.extend(block.text.split("\n"))
            lines.append("")
    return lines


def _table_lines(table: Table) -> list[str]:
    """A two-column speaker | text table reads as "speaker: text" lines."""
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if len(cells) >= 2:
            lines.append(f"{cells[0]}: {' '.join(cells[1:])}")
        elif cells:
            lines.append(cells[0])
        lines.append("")
    return lines


def _core_properties(document: Document) -> tuple[str | None, dt.date | None]:
    # Core properties are optional and free-form; damage there should not cost the session.
    try:
        properties = document.core_properties
        title = one_line(properties.title or "") or None
        created = properties.created
    except Exception:
        return None, None
    if not isinstance(created, dt.datetime) or created == _PYTHON_DOCX_TEMPLATE_CREATED:
        return title, None
    # Word stores UTC; the session happened on the user's local calendar day.
    local = created.astimezone() if created.tzinfo else created
    return title, local.date()
