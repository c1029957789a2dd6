"""The user's notes and their therapist's handouts: stored sealed, listed apart from
sessions, searchable, and cited as "your note, 12 March" / "handout: Sleep hygiene, page 2",
never as something said in a session. Invented people and handouts throughout."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import docx
import pytest

from reflect import crypto
from reflect.answer.excerpts import Excerpt
from reflect.cli import citation_line, main
from reflect.documents import Documents
from reflect.errors import SessionNotFound, UsageError
from reflect.handouts import HandoutError, read_handout
from reflect.service import Reflect, SearchFilters
from reflect.sources import citation
from reflect.testing import FakeChatModel, store_of
from tests.conftest import PASSPHRASE
from tests.pdf_fixtures import SLEEP_HYGIENE, make_pdf

SESSION = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Dr. Okafor>How has the sleep been since we last met?

00:00:05.000 --> 00:00:12.000
<v Wren>Patchy. I was lying awake until three most nights, going over the rota at work.

00:00:12.500 --> 00:00:18.000
<v Dr. Okafor>Would you be up for keeping a sleep diary this week?

00:00:18.500 --> 00:00:20.000
<v Wren>Yes, I'll try that.
"""
NOTE = "Lying awake again at three, thinking about the rota. Try the diary tonight."


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vault"
    Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params()).lock()
    monkeypatch.setenv("REFLECT_VAULT", str(path))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    source = tmp_path / "2026-03-05 sleep.vtt"
    source.write_text(SESSION)
    assert main(["import", "--me", "Wren", str(source)]) == 0
    return tmp_path


def json_out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def handout_pdf(folder: Path, name: str = "sleep-hygiene.pdf") -> Path:
    path = folder / name
    path.write_bytes(make_pdf(SLEEP_HYGIENE))
    return path


# ---- notes ----------------------------------------------------------------------------------


def test_a_note_is_written_listed_edited_and_removed(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["note", NOTE, "--date", "2026-03-12"]) == 0
    (note,) = json_out(capsys, ["notes", "--json"])  # type: ignore[misc]
    assert note["n"] == 1 and note["text"] == NOTE and note["date"] == "2026-03-12"
    assert note["source"] == "note"
    # Not a session: `reflect sessions` and session numbers are the sessions' own.
    sessions = json_out(capsys, ["sessions", "--json"])
    assert [s["title"] for s in sessions] == ["Sleep"]  # type: ignore[union-attr]

    assert main(["note", "--edit", "1", "Slept until six. The diary helped."]) == 0
    (edited,) = json_out(capsys, ["notes", "--json"])  # type: ignore[misc]
    assert edited["text"] == "Slept until six. The diary helped." and edited["id"] == note["id"]
    assert edited["date"] == "2026-03-12"

    assert main(["notes", "--remove", "1", "--yes"]) == 0
    assert json_out(capsys, ["notes", "--json"]) == []


@pytest.mark.parametrize("listing", ["notes", "handouts"])
def test_removing_a_note_or_handout_is_confirmed_first(
    cli: Path, listing: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if listing == "notes":
        assert main(["note", NOTE, "--date", "2026-03-12"]) == 0
        asked_about, removed = "your note of 12 Mar 2026", "Removed your note of 12 Mar 2026"
    else:
        assert main(["import", "--handout", str(handout_pdf(cli)), "--title", "Sleep"]) == 0
        asked_about, removed = "the handout “Sleep”", "Removed the handout “Sleep”"
    capsys.readouterr()
    # A script must say --yes; nothing is removed without it.
    assert main([listing, "--remove", "1"]) == 2
    assert "needs confirmation; add --yes" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    questions: list[str] = []
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda q="": questions.append(q) or next(answers))
    assert main([listing, "--remove", "1"]) == 1
    assert "Nothing removed." in capsys.readouterr().err
    assert len(json_out(capsys, [listing, "--json"])) == 1  # type: ignore[arg-type]
    assert main([listing, "--remove", "1"]) == 0
    assert removed in " ".join(capsys.readouterr().err.split())
    assert questions == [f"Remove {asked_about} for good? [y/N] "] * 2
    assert json_out(capsys, [listing, "--json"]) == []


def test_a_note_from_a_file_and_empty_notes_refused(cli: Path) -> None:
    written = cli / "thoughts.txt"
    written.write_text("  Bring up the rota with Dr. Okafor.\n\n")
    assert main(["note", "--file", str(written)]) == 0
    with Reflect.unlock(cli / "vault", PASSPHRASE) as service:
        (summary,) = service.documents.notes()
        note = service.documents.note("1")
        assert note.text == "Bring up the rota with Dr. Okafor."
        assert summary.date == dt.date.today().isoformat()
        assert note.turns[0].speaker == "Wren"  # the user's own label
        with pytest.raises(UsageError):
            service.documents.write_note("   \n ")
        with pytest.raises(SessionNotFound):
            service.documents.note("7")


def test_a_note_is_found_and_cited_as_a_note(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["note", NOTE, "--date", "2026-03-12"]) == 0
    found = json_out(capsys, ["quotes", "diary tonight rota", "--json", "--k", "3"])
    hits = found["hits"]  # type: ignore[index]
    mine = [h for h in hits if h["source"] == "note"]
    assert mine and mine[0]["text"] == NOTE and "page" not in mine[0]
    assert {h["source"] for h in hits} <= {"note", "session"}
    capsys.readouterr()
    assert main(["quotes", "diary tonight rota", "--k", "3"]) == 0
    shown = capsys.readouterr().out
    assert "your note, 12 March" in shown
    assert "Wren: Lying awake" not in shown  # a note has no speaker line


def test_the_timeline_marks_notes_and_sessions_count_alone(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["note", NOTE, "--date", "2026-03-12"]) == 0
    assert main(["import", "--handout", str(handout_pdf(cli))]) == 0
    timeline = json_out(capsys, ["timeline", "lying awake", "--json"])
    sources = [s["source"] for s in timeline["sessions"]]  # type: ignore[index]
    assert "handout" not in sources
    assert sources.count("note") <= 1 and "session" in sources
    capsys.readouterr()
    assert main(["timeline", "lying awake"]) == 0
    shown = capsys.readouterr().out
    assert "of your 1 session" in shown


# ---- handouts -------------------------------------------------------------------------------


def test_a_pdf_handout_is_imported_listed_searched_and_removed(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = handout_pdf(cli)
    argv = ["import", "--handout", str(path), "--title", "Sleep hygiene", "--by", "Dr. Okafor"]
    assert main([*argv, "--date", "2026-03-05"]) == 0
    (handout,) = json_out(capsys, ["handouts", "--json"])  # type: ignore[misc]
    assert handout["title"] == "Sleep hygiene" and handout["given_by"] == "Dr. Okafor"
    assert [p["page"] for p in handout["pages"]] == [1, 2]
    assert "dim the lamps" in handout["pages"][1]["text"]
    # The same file again is the same handout.
    assert main(["import", "--handout", str(path)]) == 0
    assert len(json_out(capsys, ["handouts", "--json"])) == 1  # type: ignore[arg-type]
    assert len(json_out(capsys, ["sessions", "--json"])) == 1  # type: ignore[arg-type]

    found = json_out(capsys, ["quotes", "screens away and dim the lamps", "--json", "--k", "1"])
    (hit,) = found["hits"]  # type: ignore[index]
    assert hit["source"] == "handout" and hit["page"] == 2 and hit["speaker"] is None
    assert "dim the lamps" in hit["text"]
    capsys.readouterr()
    assert main(["quotes", "screens away and dim the lamps", "--k", "1"]) == 0
    assert "handout: Sleep hygiene, page 2" in capsys.readouterr().out

    assert main(["handouts", "--remove", "1", "--yes"]) == 0
    assert json_out(capsys, ["handouts", "--json"]) == []


def test_markdown_and_word_handouts(tmp_path: Path) -> None:
    md = tmp_path / "grounding.md"
    md.write_text(
        "# Grounding: 5-4-3-2-1\n\nName five things you can see.\f\nNow four you can touch.\n"
    )
    read = read_handout(md)
    assert read.title == "Grounding: 5-4-3-2-1" and [n for n, _ in read.pages] == [1, 2]

    document = docx.Document()
    document.add_paragraph("Thought record")
    document.add_paragraph("Situation: the team meeting on Monday.")
    document.add_page_break()
    document.add_paragraph("Balanced thought: one comment is not the whole review.")
    path = tmp_path / "thought-record.docx"
    document.save(str(path))
    read = read_handout(path)
    assert read.format == "docx" and [n for n, _ in read.pages] == [1, 2]
    assert "Balanced thought" in read.pages[1][1]


def test_handout_answers_never_say_your_therapist_said(tmp_path: Path) -> None:
    service = Reflect.create(
        tmp_path / "vault",
        PASSPHRASE,
        kdf=crypto.floor_kdf_params(),
        model_factory=lambda: FakeChatModel("Your therapist said to dim the lamps [1]."),
    )
    with service:
        service.documents.import_handout(handout_pdf(tmp_path), title="Sleep hygiene")
        service.open_index(vector_store=False)
        answer = service.ask("what about screens and the lamps before bed?")
        assert answer.citations, answer.text
        assert "your therapist" not in answer.text.casefold()
        for _, hit in answer.citations:
            assert citation(hit) == f"handout: Sleep hygiene, page {hit.page}"
        assert "Handout: Sleep hygiene, page 2" in answer.text


def test_note_and_handout_excerpts_say_what_they_are(tmp_path: Path) -> None:
    with Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params()) as service:
        documents: Documents = service.documents
        documents.write_note(NOTE, day=dt.date(2026, 3, 12))
        documents.import_handout(handout_pdf(tmp_path), title="Sleep hygiene")
        service.open_index(vector_store=False)
        hits = service.quotes("lying awake rota lamps", k=5, filters=SearchFilters()).hits
        by_source = {h.source: h for h in hits}
        note, handout = by_source["note"], by_source["handout"]
        assert citation_line(note).startswith("your note, 12 March")
        assert citation_line(handout) == f"handout: Sleep hygiene, page {handout.page}"
        assert Excerpt(1, note, "You").render().startswith("[1] your note, 12 March")
        assert Excerpt(2, handout, "").speaker_phrase == "the handout “Sleep hygiene”"
        # Recaps and agreements are about sessions: a handout or a note is neither.
        assert service.agreements() == []
        with pytest.raises(SessionNotFound):
            service.recap("1")
        # Stored sealed, in records of the vault like any session.
        assert len(store_of(service).catalog()) == 2 and service.sessions() == []


# ---- bad input -------------------------------------------------------------------------------


def test_a_bad_handout_is_refused_by_name_and_nothing_is_stored(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = cli / "scanned-worksheet.pdf"
    scan.write_bytes(make_pdf([["x"]], scanned=True))
    capsys.readouterr()
    assert main(["import", "--handout", str(scan)]) == 1
    said = capsys.readouterr().err.replace("\n", "")  # unwrapped
    assert "scanned-worksheet.pdf" in said and "OCR" in said
    assert json_out(capsys, ["handouts", "--json"]) == []
    with pytest.raises(HandoutError, match="handout"):
        read_handout(cli / "notes.xlsx")


def test_speaker_me_finds_notes_written_before_me_was_set(tmp_path: Path) -> None:
    with Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params()) as service:
        service.documents.write_note("The allotment shed needs a new padlock before spring.")
        assert service.documents.note("1").turns[0].speaker == "Me"
        service.set_me("Wren")
        service.open_index(vector_store=False)
        hits = service.quotes("allotment padlock", filters=SearchFilters(speaker="me")).hits
        assert hits and hits[0].source == "note"


def test_backups_carry_notes_and_handouts(tmp_path: Path) -> None:
    kdf = crypto.floor_kdf_params()
    target = tmp_path / "backup.bin"
    with Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=kdf) as service:
        service.documents.write_note(NOTE, day=dt.date(2026, 3, 12))
        service.documents.import_handout(handout_pdf(tmp_path), title="Sleep hygiene")
        service.backup(target, "backup passphrase 42", kdf=kdf)
    with Reflect.create(tmp_path / "other", PASSPHRASE, kdf=kdf) as service:
        service.restore(target, "backup passphrase 42")
        (note,) = service.documents.notes()
        (handout,) = service.documents.handouts()
        assert service.documents.note(note.id).text == NOTE and handout.title == "Sleep hygiene"
        assert service.sessions() == []
        service.open_index(vector_store=False)
        (hit,) = service.quotes("dim the lamps", k=1).hits
        assert hit.source == "handout" and hit.page == 2


def test_a_catalog_from_before_kinds_lists_sessions() -> None:
    """Vaults made before notes and handouts existed have no `kind` in their catalog rows
    or session records: they read as sessions (an upgraded app once failed to open them)."""
    import json

    from reflect.errors import CatalogDamaged
    from reflect.records import decode_catalog

    row = {
        "id": "5207634f",
        "title": "Session 1",
        "date": "2026-01-08",
        "date_source": "filename",
        "source_file": "2026-01-08 session 1.vtt",
        "speakers": ["Dr. Rivera", "Sam"],
        "turns": 72,
        "content_hash": "ab" * 32,
        "imported_at": "2026-12-07T08:30:00",
        "format": "vtt",
    }
    (summary,) = decode_catalog(json.dumps([row]).encode())
    assert summary.kind == "session"
    with pytest.raises(CatalogDamaged):
        decode_catalog(json.dumps([{**row, "kind": ["note"]}]).encode())
    with pytest.raises(CatalogDamaged):
        decode_catalog(json.dumps([{**row, "kind": "diary"}]).encode())
