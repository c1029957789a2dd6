"""Saved moments (reflect.kept): kept, listed, relabelled, removed; sealed in the vault, carried
by backups, still there after a re-import of their session, gone with their session.

The people and sessions are invented.
"""

# Transcript lines are as long as people talk.
# ruff: noqa: E501

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from reflect import crypto
from reflect.errors import SessionNotFound, UsageError, VaultCorrupted
from reflect.ingest import ImportOptions
from reflect.kept import new_moment
from reflect.records import MOMENTS, PURPOSE_MOMENTS
from reflect.service import Reflect
from reflect.testing import FakeEmbedder, store_of, vault_of
from tests.conftest import PASSPHRASE, grep_tree

SESSION = """\
[00:00:04] Dr. Rivera: How did the week go, Noor?
[00:00:10] Noor: Hard. On Tuesday I had a panic at the bus stop and couldn't get on.
[00:00:21] Dr. Rivera: Let's practise what you can do then. Breathe in for four, hold for two, out for six.
[00:00:40] Noor: In for four, out for six. That slows me down.
[00:00:52] Dr. Rivera: And remind yourself: this feeling passes, it always has.
[00:01:05] Noor: It always has. I can hold on to that.
"""
LABEL = "the breathing Dr. Rivera talked me through"


def _service(tmp_path: Path, name: str = "vault") -> Reflect:
    return Reflect.create(
        tmp_path / name, PASSPHRASE, kdf=crypto.floor_kdf_params(), embedder_factory=FakeEmbedder
    )


def _import(service: Reflect, tmp_path: Path, text: str = SESSION, **options: object) -> str:
    source = tmp_path / "in" / "2025-05-06 bus stop.txt"
    source.parent.mkdir(exist_ok=True)
    source.write_text(text, encoding="utf-8")
    report = service.import_paths([source], ImportOptions(**options))  # type: ignore[arg-type]
    result = report.results[0]
    assert result.status in ("imported", "replaced"), result.reason
    return result.session_id or ""


@pytest.fixture
def service(tmp_path: Path) -> Reflect:
    return _service(tmp_path)


def test_keep_by_time_lists_label_date_speaker_and_first_words(
    service: Reflect, tmp_path: Path
) -> None:
    sid = _import(service, tmp_path)
    kept = service.keep(sid, at=22.0, label=LABEL)
    assert (kept.number, kept.label, kept.speaker) == (1, LABEL, "Dr. Rivera")
    assert kept.first_words.startswith("Let's practise what you can do then.")
    assert kept.first_words.endswith("…")
    assert (kept.start, kept.session_date.isoformat()) == (21.0, "2025-05-06")
    # A stretch of turns: several speakers, so none is named.
    both = service.keep(sid, at=21.0, to=45.0)
    assert (both.first_turn, both.last_turn, both.speaker) == (2, 3, None)
    assert [m.number for m in service.moments()] == [1, 2]


def test_the_words_shown_are_read_from_the_session(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    kept = service.keep(sid, turns=(5, 6))
    session = service.session(sid)
    hit = service.moment_hit(kept)
    assert hit.text == session.text[hit.char_start : hit.char_end]
    assert hit.text.startswith("And remind yourself") and hit.text.endswith("hold on to that.")
    # From a search result: the whole turns it touches.
    at_span = service.keep(sid, span=(hit.char_start + 5, hit.char_start + 9))
    assert (at_span.first_turn, at_span.last_turn) == (4, 4)


def test_relabel_and_remove_by_number_or_id(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    first = service.keep(sid, at=21.0)
    second = service.keep(sid, at=52.0, label="it passes")
    assert service.relabel_moment("1", LABEL).label == LABEL
    assert service.moment(first.id).label == LABEL
    assert service.remove_moment("1").id == first.id
    (left,) = service.moments()
    assert (left.id, left.number, left.label) == (second.id, 1, "it passes")
    with pytest.raises(UsageError, match="no saved moment"):
        service.remove_moment("7")
    service.remove_moment(second.id)
    assert service.moments() == []
    with pytest.raises(UsageError, match="no saved moments yet"):
        service.moment("1")


def test_bad_requests_are_refused_in_a_sentence(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    with pytest.raises(UsageError, match="turns 1 to 6"):
        service.keep(sid, turns=(6, 9))
    with pytest.raises(UsageError, match="--to must come after"):
        service.keep(sid, at=40.0, to=10.0)
    with pytest.raises(UsageError, match="at most"):
        service.keep(sid, at=4.0, label="x" * 500)
    with pytest.raises(UsageError):
        service.keep(sid)
    untimed = tmp_path / "in" / "2025-05-20 untimed.txt"
    untimed.write_text("Dr. Rivera: Hello again.\nNoor: Hello.\n")
    other = service.import_paths([untimed]).results[0].session_id or ""
    with pytest.raises(UsageError, match="no times"):
        service.keep(other, at=3.0)
    assert service.keep(other, turns=(2, 2)).first_words == "Hello."


def test_moments_are_sealed_and_schema_checked(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    service.keep(sid, at=21.0, label="the heron label 4471")
    assert MOMENTS in vault_of(service)
    service.lock()
    assert grep_tree(tmp_path / "vault", [b"heron label 4471", b"Breathe in for four"]) == []
    again = Reflect.unlock(tmp_path / "vault", PASSPHRASE)
    assert again.moments()[0].label == "the heron label 4471"
    vault_of(again).put(MOMENTS, b'{"version":1,"moments":[{"id":"zz"}]}', purpose=PURPOSE_MOMENTS)
    with pytest.raises(VaultCorrupted, match="saved moments are damaged"):
        again.moments()
    # A damaged record never stops a session being removed.
    again.remove(sid)
    assert again.sessions() == []


def test_removing_a_session_drops_its_moments_only(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    other_file = tmp_path / "in" / "2025-05-20 later.txt"
    other_file.write_text("[00:00:02] Noor: I got on the bus today.\n")
    other = service.import_paths([other_file]).results[0].session_id or ""
    service.keep(sid, at=21.0)
    service.keep(other, at=2.0, label="the bus")
    service.remove(sid)
    assert [m.label for m in service.moments()] == ["the bus"]
    # Kept while another reflect removed its session: refused, nothing stored.
    orphan = replace(new_moment(service.session(other), 0, 0, None), session_id=sid)
    with pytest.raises(SessionNotFound, match="removed meanwhile"):
        store_of(service).keep_moment(orphan)
    assert len(service.moments()) == 1


def test_a_re_import_keeps_moments_on_their_words(service: Reflect, tmp_path: Path) -> None:
    sid = _import(service, tmp_path)
    service.keep(sid, at=21.0, label="breathing")
    service.keep(sid, at=52.0, to=65.0, label="it passes")
    # The corrected transcript: a turn added at the start and a typo fixed, so every offset
    # and turn number moved.
    corrected = "[00:00:01] Noor: Sorry I'm late.\n" + SESSION.replace(
        "How did the week go", "How did this week go"
    )
    assert _import(service, tmp_path, corrected, replace=True) == sid
    session = service.session(sid)
    breathing, passes = service.moments()
    assert breathing.label == "breathing" and breathing.first_words.startswith("Let's practise")
    assert (breathing.first_turn, breathing.last_turn) == (3, 3)
    assert passes.first_words.startswith("And remind yourself")
    assert (passes.first_turn, passes.last_turn) == (5, 6)
    # Stored re-anchored, not only shown so: the record agrees with the new session.
    stored = {m.label: m for m in store_of(service).moments()}
    assert stored["breathing"].first_turn == 3
    assert session.text.count(stored["it passes"].text) == 1


def test_a_reworded_re_import_finds_the_moment_by_its_time(
    service: Reflect, tmp_path: Path
) -> None:
    sid = _import(service, tmp_path)
    service.keep(sid, at=40.0)
    reworded = SESSION.replace("In for four, out for six.", "In four, out six.")
    _import(service, tmp_path, reworded, replace=True)
    (moment,) = service.moments()
    assert moment.first_words.startswith("In four, out six.") and moment.start == 40.0


def test_backups_carry_moments_to_their_sessions_new_ids(tmp_path: Path) -> None:
    service = _service(tmp_path)
    sid = _import(service, tmp_path)
    service.keep(sid, at=21.0, label=LABEL)
    service.backup(tmp_path / "all.rflbak", "backup passphrase", kdf=crypto.floor_kdf_params())
    other = _service(tmp_path, "other")
    # A session of the same id is already there: the restored one gets another id.
    blocker = store_of(service).get(sid)
    blocker.content_hash = "something else"
    store_of(other).add(blocker, None)
    other.restore(tmp_path / "all.rflbak", "backup passphrase")
    (moment,) = other.moments()
    assert moment.label == LABEL and moment.session_id != sid
    assert other.session(moment.session_id).content_hash == service.session(sid).content_hash
    # Restoring again adds nothing twice.
    other.restore(tmp_path / "all.rflbak", "backup passphrase")
    assert len(other.moments()) == 1


def test_a_damaged_moments_record_is_left_out_of_a_backup_by_name(
    service: Reflect, tmp_path: Path
) -> None:
    sid = _import(service, tmp_path)
    service.keep(sid, at=21.0)
    vault_of(service).put(MOMENTS, b"not json", purpose=PURPOSE_MOMENTS)
    report = service.backup(
        tmp_path / "b.rflbak", "backup passphrase", kdf=crypto.floor_kdf_params()
    )
    assert report.sessions == 1
    assert report.left_out == [
        "Your saved moments are damaged, so they were left out of the backup."
    ]
    other = _service(tmp_path, "other")
    other.restore(tmp_path / "b.rflbak", "backup passphrase")
    assert len(other.sessions()) == 1 and other.moments() == []
