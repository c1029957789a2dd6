"""Marking agreements done, not for me, or open again: stored sealed, stable ids, checked on
read, gone with their session, carried by backups; and the CLI's --done/--drop/--open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.errors import UsageError, VaultCorrupted
from reflect.records import AGREEMENT_STATUS, PURPOSE_AGREEMENT_STATUS, decode_agreement_marks
from reflect.service import Reflect
from reflect.testing import store_of, vault_of
from tests.conftest import PASSPHRASE, grep_tree
from tests.test_sealed_recaps import replace_first_session
from tests.test_timeline import cli_vault  # noqa: F401  (the fixture)


@pytest.fixture
def service(cli_vault: Path) -> Iterator[Reflect]:  # noqa: F811
    with Reflect.unlock(cli_vault, PASSPHRASE) as unlocked:
        unlocked.open_index(vector_store=False)
        yield unlocked


def _statuses(service: Reflect) -> dict[str, str]:
    return {a.id: a.status for a in service.agreements(follow_ups=False)}


def test_ids_are_short_and_stable_across_runs(service: Reflect, cli_vault: Path) -> None:  # noqa: F811
    ids = list(_statuses(service))
    assert len(ids) == 2 and all(len(i) == 8 for i in ids)
    service.rename("1", "A new title")
    service.label_speakers("1", "Mira", rename="Mirela")
    assert list(_statuses(service)) == ids  # the words are where they were
    service.lock()
    with Reflect.unlock(cli_vault, PASSPHRASE) as again:
        again.open_index(vector_store=False)
        assert list(_statuses(again)) == ids


def test_done_dropped_and_open_again(service: Reflect, cli_vault: Path) -> None:  # noqa: F811
    diary, coffee = _statuses(service)
    assert service.mark_agreement(diary[:5], "done").id == diary  # a unique start will do
    service.mark_agreement(coffee, "dropped")
    assert _statuses(service) == {diary: "done", coffee: "dropped"}
    marks = store_of(service).agreement_marks()
    assert {m.status for m in marks.values()} == {"done", "dropped"}
    service.mark_agreement(diary, "open")
    assert _statuses(service) == {diary: "open", coffee: "dropped"}
    assert set(store_of(service).agreement_marks()) == {coffee}  # "open" is not stored
    assert grep_tree(cli_vault, [coffee.encode(), b"dropped"]) == []  # sealed
    with pytest.raises(UsageError, match="No agreement has the id"):
        service.mark_agreement("feedface", "done")
    with pytest.raises(UsageError, match="can be open, done, dropped"):
        service.mark_agreement(diary, "maybe")


def test_removing_the_session_drops_its_marks(service: Reflect) -> None:
    diary, coffee = _statuses(service)
    service.mark_agreement(diary, "done")
    service.mark_agreement(coffee, "done")
    service.remove("1")
    assert set(store_of(service).agreement_marks()) == {coffee}


def test_replacing_the_session_drops_its_marks(service: Reflect, tmp_path: Path) -> None:
    diary, coffee = _statuses(service)
    service.mark_agreement(diary, "done")
    service.mark_agreement(coffee, "done")
    replace_first_session(
        service,
        tmp_path,
        "[00:00:01] Dr. Okafor: Would you be up for keeping an insomnia diary this week?\n"
        "[00:00:05] Mirela: Yeah, I'll try that, though the bakery starts at five.\n",
    )
    # Its words moved: the old mark would point at whatever sits there now.
    assert set(store_of(service).agreement_marks()) == {coffee}
    assert list(_statuses(service).values()) == ["open", "done"]


def test_a_backup_carries_the_marks(service: Reflect, tmp_path: Path) -> None:
    diary, coffee = _statuses(service)
    service.mark_agreement(diary, "done")
    target = tmp_path / "backup.bin"
    service.backup(target, "backup passphrase", kdf=crypto.floor_kdf_params())
    with Reflect.create(tmp_path / "new", "new pass", kdf=crypto.floor_kdf_params()) as fresh:
        fresh.restore(target, "backup passphrase")
        fresh.set_me("Mirela")
        fresh.open_index(vector_store=False)
        assert _statuses(fresh) == {diary: "done", coffee: "open"}
        # The vault's own choice wins over the backup's.
        fresh.mark_agreement(diary, "dropped")
        fresh.restore(target, "backup passphrase")
        assert _statuses(fresh)[diary] == "dropped"


def test_a_damaged_record_is_said_and_a_new_mark_starts_it_afresh(service: Reflect) -> None:
    diary, _ = _statuses(service)
    damaged = b'{"version": 1, "marks": {"x": {"status": "maybe", "session": 1}}}'
    vault_of(service).put(AGREEMENT_STATUS, damaged, purpose=PURPOSE_AGREEMENT_STATUS)
    with pytest.raises(VaultCorrupted, match="mark an agreement again"):
        service.agreements(follow_ups=False)
    service.mark_agreement(diary, "done")
    assert _statuses(service)[diary] == "done"
    for bad in (b"not json", b"[]", b'{"version": 2, "marks": {}}'):
        with pytest.raises(VaultCorrupted):
            decode_agreement_marks(bad)


@pytest.mark.usefixtures("cli_vault")
def test_cli_marks_and_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["agreements", "--json"]) == 0
    diary, coffee = (a["id"] for a in json.loads(capsys.readouterr().out))
    assert main(["agreements", "--done", diary]) == 0
    assert capsys.readouterr().out.strip() == f"{diary}: done."
    assert main(["agreements", "--drop", coffee, "--json"]) == 0
    marked = json.loads(capsys.readouterr().out)
    assert (marked["id"], marked["status"]) == (coffee, "dropped")
    assert main(["agreements", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["id"], a["status"]) for a in listed] == [(diary, "done"), (coffee, "dropped")]
    assert all({"follow_ups", "text", "session_id"} <= set(a) for a in listed)
    assert main(["agreements"]) == 0
    text = capsys.readouterr().out
    assert f"{diary} · done" in text and f"{coffee} · not for me" in text
    assert main(["agreements", "--open", diary]) == 0
    assert capsys.readouterr().out.strip() == f"{diary}: open."
    assert main(["agreements", "--done", "feedface"]) != 0
    assert "No agreement has the id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["agreements", "--done", diary, "--drop", coffee])
