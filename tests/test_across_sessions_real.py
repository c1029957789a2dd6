"""timeline, recap and agreements end to end with the real embedding model, on the invented
demo sessions (Sam and Dr. Rivera), through the CLI as a person would run them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reflect import crypto
from reflect.cli import main
from reflect.ingest import ImportOptions
from reflect.service import Reflect
from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parent.parent / "reflect" / "demo" / "sessions"


@pytest.fixture(scope="module")
def demo_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reflect.embedding import default_embedder

    path = tmp_path_factory.mktemp("across") / "vault"
    service = Reflect.create(
        path, PASSPHRASE, kdf=crypto.floor_kdf_params(), embedder_factory=default_embedder
    )
    assert not service.import_paths([DEMO], ImportOptions(me="Sam")).failed
    service.lock()
    return path


@pytest.fixture
def cli(demo_vault: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from reflect import service
    from reflect.embedding import default_embedder

    monkeypatch.setattr(service, "_default_embedder_factory", default_embedder)
    monkeypatch.setenv("REFLECT_VAULT", str(demo_vault))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    yield


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("cli")
def test_timeline_of_the_train_panic(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, ["timeline", "panic on the train", "--json"])
    assert isinstance(data, dict)
    dates = [s["session_date"] for s in data["sessions"]]
    assert dates == sorted(dates)
    # The first attack (S1), Oakhurst and box breathing (S3), staying on (S5, S8).
    assert {"2026-01-08", "2026-02-05", "2026-03-05", "2026-04-23"} <= set(dates)
    for entry in data["sessions"]:
        assert entry["mentions"] >= 1 and entry["hits"]
    assert main(["timeline", "panic on the train"]) == 0
    assert "█" in capsys.readouterr().out


@pytest.mark.usefixtures("cli")
def test_recap_of_the_first_session(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, ["recap", "1", "--json"])
    assert isinstance(data, dict)
    moments = data["moments"]
    assert 3 <= len(moments) <= 6
    assert {m["speaker"] for m in moments} == {"Sam", "Dr. Rivera"}
    assert all(m["text"] not in ("Mm-hmm.", "Yeah.", "Okay.") for m in moments)
    service = Reflect.unlock(Path(os.environ["REFLECT_VAULT"]), PASSPHRASE)
    try:
        session = service.session("1")
        recap = service.recap("1")
        assert [m.text for m in recap.moments] == [m["text"] for m in moments]
        for moment in recap.moments:
            assert moment.text == session.text[moment.char_start : moment.char_end]
    finally:
        service.lock()


@pytest.mark.usefixtures("cli")
def test_agreements_include_the_sleep_diary_with_its_follow_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, ["agreements", "--json"])
    assert isinstance(data, list)
    diary = [a for a in data if "keeping a sleep diary" in a["text"]]
    assert diary and diary[0]["session_date"] == "2026-01-08"
    assert diary[0]["reply"]["speaker"] == "Sam"
    assert any(h["session_date"] > "2026-01-08" for h in diary[0]["follow_ups"])
    since = run_json(capsys, ["agreements", "--since", "2026-04-01", "--json"])
    assert isinstance(since, list) and since
    assert all(a["session_date"] >= "2026-04-01" for a in since)


@pytest.mark.usefixtures("cli")
def test_prep_for_the_session_after_the_last(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, ["prep", "--json"])
    assert isinstance(data, dict)
    assert data["last_session"]["session_date"] == "2026-04-23"
    assert 3 <= len(data["last_session"]["moments"]) <= 6
    # Sealed at import: what prep shows is what `recap` shows.
    assert data["last_session"] == run_json(capsys, ["recap", "8", "--json"])
    assert data["agreements"] and all(a["status"] == "open" for a in data["agreements"])
    assert all(a["session_date"] >= "2026-03-05" for a in data["agreements"])
    topics = [t["topic"] for t in data["themes"]]
    # The last three sessions: the grandmother's death, the wedding, Maya, Mum.
    assert {"gran", "wedding"} <= set(topics)
    for theme in data["themes"]:
        assert theme["sessions"] and all(s["hits"] for s in theme["sessions"])
    assert data["notes"] == []


def test_the_sleep_conversation_of_the_issue(demo_vault: Path) -> None:
    """"What did we say about sleep?" shows the sleep diary suggestion; "did I keep it?"
    then means the diary, and finds "I brought the diary" in the next session; "when was
    that?" dates it. (The model stays silent here: the system composes these answers.)"""
    from reflect.embedding import default_embedder
    from reflect.testing import FakeChatModel

    model = FakeChatModel([""])
    with Reflect.unlock(
        demo_vault, PASSPHRASE, embedder_factory=default_embedder, model_factory=lambda: model
    ) as service:
        service.open_index(vector_store=False)
        talk = service.new_conversation()
        sleep = service.ask("what did we say about sleep?", conversation=talk)
        assert sleep.found and "keeping a sleep diary" in sleep.text
        kept = service.ask("did I keep it?", conversation=talk)
        assert kept.asked is not None and kept.asked.followup
        assert "sleep diary" in kept.asked.topic
        assert kept.text.startswith("Afterwards, on 22 January, you said:")
        assert "I brought the diary" in kept.text
        # What happened is quoted in Sam's words, session after session (not the therapist's
        # "How's the sleep been?" of a later session).
        reports = kept.text.split("\nIt came up on")[0].split("\n")
        assert len(reports) >= 2 and all(", you said: “" in line for line in reports)
        when = service.ask("when was that?", conversation=talk)
        assert when.text.startswith("That was on 22 January")
        # Asked directly, without the conversation: the same report, in the next session.
        direct = service.ask("did I keep the sleep diary?")
        assert direct.text.startswith("Afterwards, on 22 January, you said:")
        assert "I brought the diary" in direct.text.split("\n")[0]
        brother = service.ask("what did we say about my brother?")
        assert not brother.found
        assert brother.text.startswith("Nothing about your brother came up in your sessions.")
        for answer in (sleep, kept, when, direct):
            for _, hit in answer.citations:  # every quote is the transcript's own words
                session = service.session_of(hit)
                assert session.text[hit.char_start : hit.char_end] == hit.text


def test_before_the_wedding_is_before_the_day_sam_gave(demo_vault: Path) -> None:
    """ "What did I say before the wedding?": the wedding is placed on 14 March from Sam's
    "She's getting married in March, the fourteenth" (session 1), which the later sessions
    agree with, and the answer cites only sessions before it (reflect/answer/events.py)."""
    from reflect.embedding import default_embedder
    from reflect.testing import FakeChatModel

    model = FakeChatModel(["", ""])
    with Reflect.unlock(
        demo_vault, PASSPHRASE, embedder_factory=default_embedder, model_factory=lambda: model
    ) as service:
        service.open_index(vector_store=False)
        before = service.ask("what did I say before the wedding?")
        assert before.asked is not None
        assert before.asked.until is not None and before.asked.until.isoformat() == "2026-03-13"
        assert "before the wedding (14 March)" in before.asked.summary()
        assert before.found and before.citations
        assert all(hit.session_date.isoformat() < "2026-03-14" for _, hit in before.citations)
        after = service.ask("what did I say about my gran after the funeral?")
        assert after.asked is not None and after.asked.since is not None
        assert after.asked.since.isoformat() == "2026-04-07"
        assert all(hit.session_date.isoformat() >= "2026-04-07" for _, hit in after.citations)
