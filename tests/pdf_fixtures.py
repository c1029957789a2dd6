"""Tiny PDFs made in the tests' set-up: text pages (Helvetica, one line per string), a page
with only a picture (a "scan"), and a password-locked copy. Written by hand, so the tests
need no PDF-writing library and every byte is known."""

from __future__ import annotations

import io
import zlib


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        ops.append(f"({_escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


_PICTURE = b"q 200 0 0 200 72 500 cm /Im1 Do Q"


def make_pdf(pages: list[list[str]], *, scanned: bool = False, compress: bool = True) -> bytes:
    """A PDF of `pages`, each a list of lines; `scanned`: each page holds only a grey
    picture instead (no text layer), as a scanner makes."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    image_data = bytes([128]) * (8 * 8)
    image = add(
        b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length "
        + str(len(image_data)).encode()
        + b" >>\nstream\n"
        + image_data
        + b"\nendstream"
    )
    pages_id = len(objects) + 1 + 2 * len(pages)  # after every page and its content
    kids = []
    for lines in pages:
        raw = _PICTURE if scanned else _content(lines)
        data = zlib.compress(raw) if compress else raw
        filt = b"/Filter /FlateDecode " if compress else b""
        content = add(
            b"<< "
            + filt
            + b"/Length "
            + str(len(data)).encode()
            + b" >>\nstream\n"
            + data
            + b"\nendstream"
        )
        page = add(
            b"<< /Type /Page /Parent " + str(pages_id).encode() + b" 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 "
            + str(font).encode()
            + b" 0 R >> /XObject << /Im1 "
            + str(image).encode()
            + b" 0 R >> >> /Contents "
            + str(content).encode()
            + b" 0 R >>"
        )
        kids.append(page)
    kid_refs = b" ".join(str(k).encode() + b" 0 R" for k in kids)
    assert (
        add(b"<< /Type /Pages /Kids [" + kid_refs + b"] /Count " + str(len(kids)).encode() + b" >>")
        == pages_id
    )
    catalog = add(b"<< /Type /Catalog /Pages " + str(pages_id).encode() + b" 0 R >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def locked(pdf: bytes, password: str = "hunter2-invented") -> bytes:
    """`pdf` encrypted so that it needs `password` to open (pypdf writes it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SLEEP_HYGIENE = [
    [
        "Sleep hygiene",
        "Keep the same wake-up time every day, weekends included.",
        "Get out of bed if you have been lying awake for twenty minutes.",
    ],
    [
        "Wind-down routine",
        "Put screens away an hour before bed and dim the lamps in the lounge.",
        "A warm bath or a few pages of a paper book can tell the body it is evening.",
    ],
]
