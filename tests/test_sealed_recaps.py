"""Recaps sealed in the vault: computed at import, encrypted, rebuilt when the session or the
method changes, removed with the session, carried by backups, backfilled for older sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflect import crypto, recap
from reflect.index_record import decode_index_record
from reflect.ingest import ImportOptions
from reflect.recap import RECAP_METHOD, recap_of, sealed_spans
from reflect.records import SealedRecap, recap_fingerprint, recap_name
from reflect.service import Reflect
from reflect.testing import store_of, vault_of
from tests.across_fixtures import C
from tests.conftest import PASSPHRASE, grep_tree
from tests.test_timeline import cli_vault  # noqa: F401  (the fixture)


@pytest.fixture
def service(cli_vault: Path) -> Iterator[Reflect]:  # noqa: F811
    with Reflect.unlock(cli_vault, PASSPHRASE) as unlocked:
        yield unlocked


def _sealed(service: Reflect, session_id: str) -> SealedRecap | None:
    return store_of(service).recap(session_id)


def test_each_import_seals_the_recap_it_shows(service: Reflect) -> None:
    store = store_of(service)
    for summary in service.sessions():
        session = service.session(summary.id)
        sealed = _sealed(service, summary.id)
        assert sealed is not None
        assert sealed.method == RECAP_METHOD
        assert sealed.made_from == recap_fingerprint(session)
        record = store.index_record(session.id)
        assert record is not None
        _, chunks, vectors = decode_index_record(record)
        shown = service.recap(summary.id).moments
        assert shown == recap_of(session, chunks, vectors)
        assert all(m.text == session.text[m.char_start : m.char_end] for m in shown)


def test_a_recap_is_sealed_as_offsets_and_encrypted(service: Reflect, cli_vault: Path) -> None:  # noqa: F811
    first = service.sessions()[0].id
    sealed = _sealed(service, first)
    assert sealed is not None and sealed.spans
    assert b'"spans"' in sealed.encode() and b"insomnia" not in sealed.encode()
    words = [m.text.encode() for m in service.recap(first).moments]
    assert words and grep_tree(cli_vault, [*words, b'"spans"', b"recap-1"]) == []


def test_a_rename_a_redate_or_a_relabel_rebuilds_it(service: Reflect) -> None:
    first = service.sessions()[0].id
    before = _sealed(service, first)
    service.rename(first, "Where the insomnia started")
    session = service.session(first)
    assert sealed_spans(store_of(service), session) is None  # stale until read
    assert service.recap(first).session_title == "Where the insomnia started"
    renamed = _sealed(service, first)
    assert renamed is not None and before is not None
    assert renamed.made_from == recap_fingerprint(session) != before.made_from
    service.redate(first, dt.date(2025, 2, 4))
    assert service.recap(first).session_date == dt.date(2025, 2, 4)
    service.label_speakers(first, "Mira", rename=C)
    moments = service.recap(first).moments
    assert "Mira" in {m.speaker for m in moments} and C not in {m.speaker for m in moments}
    relabelled = _sealed(service, first)
    assert relabelled is not None
    assert relabelled.made_from == recap_fingerprint(service.session(first))


def replace_first_session(service: Reflect, folder: Path, transcript: str) -> str:
    """Import `transcript` with --replace over the first session; its id."""
    first = service.sessions()[0]
    replacement = folder / "again" / first.source_file
    replacement.parent.mkdir()
    replacement.write_text(transcript)
    assert service.import_paths([replacement], ImportOptions(replace=True)).count("replaced")
    return first.id


def test_a_replaced_session_gets_the_recap_of_its_new_words(
    service: Reflect, tmp_path: Path
) -> None:
    first_id = replace_first_session(
        service,
        tmp_path,
        "[00:00:01] Dr. Okafor: What would you like to start with today?\n"
        "[00:00:05] Mirela: The allotment. I dug the whole onion bed on Saturday and my back "
        "is still complaining about the spade and the clay.\n"
        "[00:00:20] Dr. Okafor: The allotment sounds like it gives you somewhere to be.\n"
        "[00:00:30] Mirela: It does. The robins follow me along the rows of onions.\n",
    )
    first = service.summary(first_id)
    session = service.session(first.id)
    assert "allotment" in session.text
    sealed = _sealed(service, first.id)
    assert sealed is not None and sealed.made_from == recap_fingerprint(session)
    moments = service.recap(first.id).moments
    assert moments and all(m.text == session.text[m.char_start : m.char_end] for m in moments)
    assert any("allotment" in m.text or "onions" in m.text for m in moments)


def test_removing_the_session_removes_its_recap(service: Reflect) -> None:
    first = service.sessions()[0].id
    assert store_of(service).has(recap_name(first))
    service.remove(first)
    assert not store_of(service).has(recap_name(first))


def test_a_backup_carries_the_recaps(service: Reflect, tmp_path: Path) -> None:
    target = tmp_path / "backup.bin"
    service.backup(target, "backup passphrase", kdf=crypto.floor_kdf_params())
    with Reflect.create(tmp_path / "new", "new pass", kdf=crypto.floor_kdf_params()) as fresh:
        assert fresh.restore(target, "backup passphrase").restored == 3
        for theirs, ours in zip(fresh.sessions(), service.sessions(), strict=True):
            restored = _sealed(fresh, theirs.id)
            assert restored is not None  # carried, not computed: nothing has read it yet
            assert restored == _sealed(service, ours.id)
            assert fresh.recap(theirs.id).moments == service.recap(ours.id).moments


def test_older_sessions_get_theirs_in_the_background(
    service: Reflect, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [s.id for s in service.sessions()]
    vault = vault_of(service)
    for session_id in ids[:2]:
        vault.delete(recap_name(session_id))
    seen: list[tuple[int, int]] = []
    assert service.backfill_recaps(lambda done, total: seen.append((done, total))) == 2
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert all(_sealed(service, i) is not None for i in ids)
    assert service.backfill_recaps() == 0
    # A new method makes every sealed recap stale.
    monkeypatch.setattr(recap, "RECAP_METHOD", "recap-next")
    assert service.backfill_recaps(should_stop=lambda: False) == 3
    assert {s.method for i in ids if (s := _sealed(service, i))} == {"recap-next"}
    assert service.backfill_recaps(should_stop=lambda: True) == 0


def test_an_unreadable_recap_is_computed_again(service: Reflect) -> None:
    first = service.sessions()[0].id
    vault_of(service).put(recap_name(first), b'{"version": 1, "spans": "nonsense"}')
    assert _sealed(service, first) is None
    assert service.recap(first).moments
    assert _sealed(service, first) is not None
    # Offsets outside the text (whatever wrote them) are never cut from it.
    bad = SealedRecap(RECAP_METHOD, recap_fingerprint(service.session(first)), ((0, 10**6),))
    vault_of(service).put(recap_name(first), bad.encode())
    assert sealed_spans(store_of(service), service.session(first)) is None
