"""Upgrades: a vault written by an earlier reflect opens and works with this one.

`tests/fixtures/vault-2026-12` was made by reflect as of 6 December 2026 (before notes,
handouts, saved moments, sealed recaps and agreement marks existed) from two invented
sessions of a client, Priya. Its records carry none of the fields added since; every feature
must read them as they are, without rewriting the vault first. (An app built from later code
once failed to list such a vault's sessions: its catalog rows have no `kind`.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reflect.embedding import default_embedder
from reflect.service import Reflect

pytestmark = pytest.mark.slow  # the real embedder: the index records hold its vectors

FIXTURE = Path(__file__).parent / "fixtures" / "vault-2026-12"
FIXTURE_PASSPHRASE = "known answer fixture 2026-12"


@pytest.fixture
def old_vault(tmp_path: Path) -> Path:
    copy = tmp_path / "vault"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_an_older_vault_lists_searches_and_prepares(old_vault: Path) -> None:
    with Reflect.unlock(old_vault, FIXTURE_PASSPHRASE, embedder_factory=default_embedder) as s:
        sessions = s.sessions()
        assert [x.date for x in sessions] == ["2025-02-03", "2025-02-10"]
        assert all(x.kind == "session" for x in sessions)
        assert s.documents.notes() == [] and s.documents.handouts() == []
        s.open_index(vector_store=False)
        found = s.quotes("keeping a sleep diary by the bed")
        assert found.hits and "sleep diary" in found.hits[0].text
        recap = s.recap(sessions[0].id)  # none was sealed then: worked out and sealed now
        assert recap.moments
        agreed = s.agreements()
        assert any("sleep diary" in a.words.text for a in agreed)
        s.mark_agreement(agreed[0].id, "done")
        assert s.agreements()[0].status == "done"
        prep = s.prep()
        assert prep.last_session is not None
        assert s.moments() == []
        note = s.documents.write_note("Slept six hours after moving the accounts.")
        assert note.kind == "note"
        assert [x.kind for x in s.sessions()] == ["session", "session"]
