"""Notes and handouts with the real models, on the invented demo sessions (Sam and
Dr. Rivera): found by meaning, kept apart from sessions, never cited as what a therapist said."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reflect import crypto
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from reflect.sources import citation
from tests.conftest import PASSPHRASE
from tests.pdf_fixtures import make_pdf

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parent.parent / "reflect" / "demo" / "sessions"
HANDOUT = [
    ["Coping with panic", "Panic peaks and passes, usually within ten minutes."],
    [
        "Before bed",
        "Put the phone and the laptop away an hour before bed.",
        "Keep the bedroom dark, cool and quiet, and get up at the same time every day.",
    ],
]
NOTE = "On the train home the panic came again, but I stayed on until my stop and it passed."


def test_notes_and_handouts_with_the_real_models(tmp_path: Path) -> None:
    from reflect.bundled import chat_model_path
    from reflect.embedding import default_embedder
    from reflect.llm import LlamaChatModel

    pdf = tmp_path / "handout.pdf"
    pdf.write_bytes(make_pdf(HANDOUT))
    with Reflect.create(
        tmp_path / "vault",
        PASSPHRASE,
        kdf=crypto.floor_kdf_params(),
        embedder_factory=default_embedder,
        model_factory=lambda: LlamaChatModel(chat_model_path()),
    ) as service:
        assert not service.import_paths([DEMO], ImportOptions(me="Sam")).failed
        sessions = len(service.sessions())
        service.documents.write_note(NOTE, day=dt.date.today())
        service.documents.import_handout(pdf, title="Panic and sleep", given_by="Dr. Rivera")
        service.open_index(vector_store=False)
        assert len(service.sessions()) == sessions

        # By meaning: neither "devices" nor "going to sleep" is in the handout.
        hits = service.quotes("devices away before going to sleep", k=3).hits
        handout = next(h for h in hits if h.source == "handout")
        assert handout.page == 2 and citation(handout) == "handout: Panic and sleep, page 2"

        timeline = service.timeline("panic on the train")
        sources = {s.source for s in timeline.sessions}
        assert "note" in sources and "handout" not in sources
        assert sum(s.source == "session" for s in timeline.sessions) >= 2

        answer = service.ask("what does the handout say about the phone before bed?")
        assert "your therapist" not in answer.text.casefold(), answer.text
        for _, hit in answer.citations:
            if hit.source == "handout":
                assert citation(hit) == f"handout: Panic and sleep, page {hit.page}"
        assert any(h.source == "handout" for _, h in answer.citations), answer.text
