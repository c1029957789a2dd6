"""Text-based PDFs (a therapist's handout): the text of each page, read by pypdf in a child
process with hard limits on its time and memory.

Why pypdf: pure Python and actively maintained, so there is no native code (as in
pdfminer.six's C-free but slower path, or MuPDF bindings) to fuzz or to ship per platform,
and it reads from an in-memory buffer only. Why a child process: a PDF is a program for a
page renderer, and a hostile one (a decompression bomb, a content stream of millions of
operators, a cyclic object graph) can cost any parser minutes and gigabytes. Caps on size
and pages keep honest files cheap; the child's CPU-time, memory and wall-clock limits make
the worst case bounded whatever pypdf does. The text comes back through a pipe, never a file.

Refused, with a sentence naming the file: no text layer (scanned pages need OCR, which
reflect does not do), a password, damage, too many pages or too much text.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from reflect.errors import TranscriptError

# Handouts are a few pages; a 50 MB or 300-page PDF is a book or a scan, not a worksheet.
MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_PAGES = 300
MAX_TEXT_CHARS = 5_000_000
# Limits on the reading child. An honest 20-page handout reads in well under a second.
PDF_CPU_SECONDS = 20
PDF_WALL_SECONDS = 30
PDF_MEMORY_BYTES = 1024 * 1024 * 1024
# The child's program: reflect.formats.pdf_pages from this very copy of reflect, run without
# the user's site folder or environment paths (-I).
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = [
    sys.executable,
    "-I",
    "-c",
    f"import sys; sys.path.insert(0, {_ROOT!r}); "
    "from reflect.formats.pdf_pages import main; sys.exit(main())",
]

SCANNED = (
    "this PDF has no text to read (scanned pages are pictures of text: they need OCR, "
    "which reflect doesn't do)"
)
_REASONS = {
    "encrypted": "this PDF is locked with a password; save an unlocked copy and import that",
    "damaged": "this isn't a readable PDF (it may be damaged or cut short)",
    "too_many_pages": f"this PDF has more than {MAX_PAGES} pages; a handout is shorter",
    "too_much_text": "this PDF holds too much text to be a handout",
    "scanned": SCANNED,
}


def limit_this_process() -> None:
    """Called first thing in the child: caps on its own CPU time and memory, no core dump."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows; the wall-clock limit still holds
        return
    resource.setrlimit(resource.RLIMIT_CPU, (PDF_CPU_SECONDS, PDF_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not dump the text
    # Not enforced everywhere (macOS); the CPU and wall-clock limits still hold.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (PDF_MEMORY_BYTES, PDF_MEMORY_BYTES))


def read_pdf_pages(data: bytes, filename: str) -> list[str]:
    """The text of each page, in order (a page without text is ""). TranscriptError, naming
    the file, for anything that isn't a readable, text-based PDF."""
    if len(data) > MAX_PDF_BYTES:
        raise TranscriptError(filename, "this PDF is too large to be a handout (over 50 MB)")
    if b"%PDF-" not in data[:1024]:
        raise TranscriptError(filename, "this isn't a PDF file")
    if b"%%EOF" not in data[-4096:]:
        # Every PDF writer ends the file so; without it the file stopped part way (a download
        # or a copy that didn't finish), and what pypdf could still piece together may be
        # missing pages.
        raise TranscriptError(filename, "this PDF is cut short (its end is missing)")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
    try:
        done = subprocess.run(
            _CHILD,
            input=data,
            capture_output=True,
            timeout=PDF_WALL_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TranscriptError(
            filename, "reading this PDF took too long, so it was stopped (it may be damaged)"
        ) from None
    # The child's stderr may quote the file; it is dropped unread.
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # Killed by a limit (memory, CPU) or crashed: either way the file can't be read.
        raise TranscriptError(filename, _REASONS["damaged"]) from None
    if not isinstance(result, dict):
        raise TranscriptError(filename, _REASONS["damaged"])
    error = result.get("error")
    if error is not None:
        raise TranscriptError(filename, _REASONS.get(str(error), _REASONS["damaged"]))
    pages = result.get("pages")
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise TranscriptError(filename, _REASONS["damaged"])
    if not any(p.strip() for p in pages):
        raise TranscriptError(filename, SCANNED)
    return pages
