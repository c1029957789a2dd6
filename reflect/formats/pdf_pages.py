"""The child process of reflect.formats.pdf: a PDF on stdin, its pages' text as JSON on
stdout ({"pages": [...]} or {"error": "encrypted" | "damaged" | ...}). Run with limits on
its CPU time and memory; it writes nothing anywhere else."""

from __future__ import annotations

import io
import json
import logging
import sys

from reflect.formats.pdf import MAX_PAGES, MAX_TEXT_CHARS, limit_this_process


def pages_of(data: bytes) -> dict[str, object]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # A PDF that opens without a password (only "permissions" set) is readable by
            # anyone, so it is read; one that needs a password is refused.
            try:
                if not reader.decrypt(""):
                    return {"error": "encrypted"}
            except (FileNotDecryptedError, NotImplementedError, PdfReadError, ValueError):
                return {"error": "encrypted"}
        if len(reader.pages) > MAX_PAGES:
            return {"error": "too_many_pages"}
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > MAX_TEXT_CHARS:
                return {"error": "too_much_text"}
            pages.append(text)
    except FileNotDecryptedError:
        return {"error": "encrypted"}
    except Exception:
        # pypdf reports damage in many shapes (PdfReadError, KeyError, ValueError...).
        return {"error": "damaged"}
    return {"pages": pages}


def main() -> int:
    limit_this_process()
    logging.disable(logging.CRITICAL)  # pypdf's warnings could quote the file
    data = sys.stdin.buffer.read()
    sys.stdout.write(json.dumps(pages_of(data)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
