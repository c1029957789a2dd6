"""Every sealed record the vault decodes, and every JSON reflect reads, is checked field by
field before use (reflect.schema): a field of the wrong type (an object where a string is, a
null, a list, a huge int, NaN) reads as that record's one "damaged" error, never a traceback.

Known-answer cases live in tests/fixtures/damaged-records.json. Each starts from the record
as reflect writes it, taken from a real vault, is sealed back under its own name and purpose,
and is read through the same path the app and CLI use.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto, local_state
from reflect.errors import (
    CatalogDamaged,
    IndexRecordError,
    PendingDamaged,
    RecordDamaged,
    SessionDamaged,
    SettingsDamaged,
    TranscriptError,
    VaultCorrupted,
)
from reflect.formats import parse_transcript
from reflect.index_record import MAGIC, VERSION, decode_index_record
from reflect.ingest import ImportOptions
from reflect.records import (
    AGREEMENT_STATUS,
    CATALOG,
    MOMENTS,
    PURPOSE_AGREEMENT_STATUS,
    PURPOSE_CATALOG,
    PURPOSE_INDEX,
    PURPOSE_MOMENTS,
    PURPOSE_PENDING,
    PURPOSE_SESSION,
    PURPOSE_SETTINGS,
    SETTINGS,
    PendingRecording,
    decode_catalog,
    index_name,
    session_name,
)
from reflect.service import Reflect
from reflect.store import SessionStore
from reflect.testing import store_of
from reflect.vault import Vault
from tests.conftest import PASSPHRASE

CASES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "damaged-records.json").read_text(encoding="utf-8")
)

# Invented: Ines and her therapist.
TRANSCRIPT = (
    "[00:00:04] Therapist: What did the weekend bring?\n"
    "[00:00:09] Ines: I helped my uncle move the beehives to the orchard by the quarry.\n"
    "[00:00:15] Therapist: How did it feel to be outdoors with him?\n"
)
_RAW = "\x00raw\x00"


def cases(kind: str) -> list[Any]:
    return [pytest.param(case, id=case["why"]) for case in CASES[kind]]


def _raw_text(raw: str | list[list[Any]]) -> str:
    return raw if isinstance(raw, str) else "".join(text * times for text, times in raw)


def _holder(document: Any, path: str) -> tuple[Any, Any]:
    """The list or object holding the value at `path`, and its key there."""
    *parents, last = path.split(".")
    for key in parents:
        document = document[int(key) if isinstance(document, list) else key]
    return document, int(last) if isinstance(document, list) else last


def damaged(base: Any, case: dict[str, Any], *, placeholder: str = "", real: str = "") -> bytes:
    """`base` with the case's damage, as the bytes of a JSON document."""
    if "document" in case:
        return json.dumps(case["document"]).encode()
    if "raw" in case and "path" not in case:
        return _raw_text(case["raw"]).encode()
    document = copy.deepcopy(base)
    changes = case.get("set") or [[case["path"], _RAW if "raw" in case else case.get("value")]]
    for path, value in changes:
        holder, key = _holder(document, path.replace(placeholder, real) if placeholder else path)
        if case.get("delete"):
            del holder[key]
        else:
            holder[key] = value
    text = json.dumps(document)
    if "raw" in case:
        text = text.replace(json.dumps(_RAW), _raw_text(case["raw"]))
    return text.encode()


# ---- a real vault, and its records as reflect wrote them ---------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault with one imported session and settings, copied for each test."""
    root = tmp_path_factory.mktemp("damaged-records")
    service = Reflect.create(root / "vault", PASSPHRASE, kdf=crypto.floor_kdf_params())
    transcript = root / "2025-02-03 the bees.txt"
    transcript.write_text(TRANSCRIPT)
    service.import_paths([transcript], ImportOptions(me="Ines"))
    service.lock()
    return root / "vault"


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Any:
    import shutil

    shutil.copytree(template, tmp_path / "vault")
    service = Reflect.unlock(tmp_path / "vault", PASSPHRASE)
    yield store_of(service)
    service.lock()


def session_id(store: SessionStore) -> str:
    return store.catalog()[0].id


def stored_json(store: SessionStore, name: str) -> Any:
    return json.loads(store.read_raw(name))


def reseal(store: SessionStore, name: str, data: bytes, purpose: str) -> None:
    """Seal `data` under the record's own name and purpose: it authenticates, so only the
    checks of its contents stand between it and the code that uses it."""
    store.vault.put(name, data, purpose=purpose)


# ---- the records --------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("catalog"))
def test_a_damaged_catalog(store: SessionStore, case: dict[str, Any]) -> None:
    before = store.catalog()
    reseal(store, CATALOG, damaged(stored_json(store, CATALOG), case), PURPOSE_CATALOG)
    with pytest.raises(CatalogDamaged, match="list of sessions is damaged"):
        decode_catalog(store.read_raw(CATALOG))
    # Derived from the sessions: rebuilt from them, and stored.
    assert store.catalog() == before
    assert decode_catalog(store.read_raw(CATALOG)) == before


@pytest.mark.parametrize("case", cases("settings"))
def test_damaged_settings(store: SessionStore, case: dict[str, Any]) -> None:
    reseal(store, SETTINGS, damaged(stored_json(store, SETTINGS), case), PURPOSE_SETTINGS)
    with pytest.raises(SettingsDamaged, match="settings are damaged"):
        store.settings()


@pytest.mark.parametrize("case", cases("session"))
def test_a_damaged_session(store: SessionStore, case: dict[str, Any]) -> None:
    name = session_name(session_id(store))
    reseal(store, name, damaged(stored_json(store, name), case), PURPOSE_SESSION)
    with pytest.raises(SessionDamaged, match="session stored in the vault is damaged"):
        store.get(session_id(store))


def _index_header(record: bytes) -> tuple[Any, bytes]:
    length = int.from_bytes(record[6:10], "little")
    return json.loads(record[10 : 10 + length]), record[10 + length :]


def _index_record(header: bytes, vectors: bytes) -> bytes:
    return (
        MAGIC
        + VERSION.to_bytes(2, "little")
        + len(header).to_bytes(4, "little")
        + header
        + (vectors)
    )


@pytest.mark.parametrize("case", cases("index_header"))
def test_a_damaged_index_record(store: SessionStore, case: dict[str, Any]) -> None:
    sid = session_id(store)
    header, vectors = _index_header(store.index_record(sid) or b"")
    record = _index_record(damaged(header, case), vectors)
    reseal(store, index_name(sid), record, PURPOSE_INDEX)
    with pytest.raises(IndexRecordError, match="search index is damaged"):
        decode_index_record(store.index_record(sid) or b"")


def test_an_index_record_holding_nan_is_damaged(store: SessionStore) -> None:
    sid = session_id(store)
    header, vectors = _index_header(store.index_record(sid) or b"")
    nan = bytearray(vectors)
    nan[0:4] = b"\x00\x00\xc0\x7f"  # a float32 NaN
    record = _index_record(json.dumps(header).encode(), bytes(nan))
    with pytest.raises(IndexRecordError, match="damaged"):
        decode_index_record(record)


def pending_base(session_id: str) -> dict[str, Any]:
    pending = PendingRecording(
        content_hash="ab" * 32,
        session_id=session_id,
        source_file="2025-02-10 the choir.ogg",
        duration=61.0,
        channels=2,
        codec="opus",
        container="ogg",
        separate_channels=True,
        windows=[(0.0, 30.0), (30.0, 61.0)],
        language="en",
        keep_audio=False,
        model="bundled",
        started_at="2025-02-10T10:00:00+00:00",
        segments=[[0.0, 2.5, "Hello there.", 0]],
        done=1,
    )
    body: dict[str, Any] = json.loads(pending.encode())
    return body


def test_the_pending_base_reads_back(store: SessionStore) -> None:
    base = pending_base("c0ffee00")
    reseal(store, "pending/" + "ab" * 32, json.dumps(base).encode(), PURPOSE_PENDING)
    (pending,) = store.pending()
    assert pending.windows == [(0.0, 30.0), (30.0, 61.0)] and pending.done == 1


@pytest.mark.parametrize("case", cases("pending"))
def test_a_damaged_unfinished_transcription(store: SessionStore, case: dict[str, Any]) -> None:
    name = "pending/" + "ab" * 32
    reseal(store, name, damaged(pending_base("c0ffee00"), case), PURPOSE_PENDING)
    with pytest.raises(PendingDamaged, match="unfinished transcription stored in the vault"):
        store.pending()
    with pytest.raises(PendingDamaged):
        store.find_pending("ab" * 32)


def test_the_channels_a_segment_may_name_are_the_labelled_ones() -> None:
    from reflect.records import MAX_CHANNEL
    from reflect.speakers import CHANNEL_LABELS

    assert len(CHANNEL_LABELS) - 1 == MAX_CHANNEL


def test_every_damaged_record_error_has_its_own_title() -> None:
    errors = [CatalogDamaged(), SettingsDamaged(), SessionDamaged(), PendingDamaged()]
    assert all(isinstance(e, RecordDamaged) for e in errors)
    assert len({e.title for e in errors}) == len(errors)
    for error in errors:
        assert "\n" not in error.message and error.message.endswith(".")


# ---- outside the vault: the record of generations seen -----------------------------------


@pytest.mark.parametrize("case", cases("seen_vaults"))
def test_a_damaged_record_of_generations_only_loses_the_notice(
    template: Path, tmp_path: Path, case: dict[str, Any]
) -> None:
    """Best effort by design (reflect.local_state): damage there costs a notice, never the
    vault, so the vault opens as if nothing had been recorded."""
    import shutil

    shutil.copytree(template, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault", PASSPHRASE)
    seen = local_state.seen_file()
    base = json.loads(seen.read_bytes())
    seen.write_bytes(damaged(base, case, placeholder="VAULT", real=vault.vault_id))
    key = local_state.mac_key(vault._vault_key())
    assert local_state.seen_generation(vault.vault_id, key) is None
    local_state.known_vault_ids()
    vault.close()

    again = Vault.open(tmp_path / "vault", PASSPHRASE)
    assert again.rolled_back is None
    # ... and the record is written afresh, genuine again.
    assert local_state.seen_generation(again.vault_id, key) == again.generation
    again.close()


# ---- transcripts the importers parse ----------------------------------------------------


@pytest.mark.parametrize("case", cases("whisper_json"))
def test_odd_json_transcripts(case: dict[str, Any]) -> None:
    data = damaged(None, case)
    if case["expect"] == "refused":
        with pytest.raises(TranscriptError) as caught:
            parse_transcript(data, "2025-02-03 odd.json")
        assert caught.value.filename == "2025-02-03 odd.json"
        return
    parsed = parse_transcript(data, "2025-02-03 odd.json")
    assert [t.text for t in parsed.turns] == ["Hello there."]
    for turn in parsed.turns:
        assert turn.speaker is None or isinstance(turn.speaker, str)
        for time in (turn.start, turn.end):
            assert time is None or (isinstance(time, float) and math.isfinite(time))


# ---- what a person sees ---------------------------------------------------------------------


@pytest.fixture
def cli_vault(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    shutil.copytree(template, tmp_path / "vault")
    monkeypatch.setenv("REFLECT_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("REFLECT_PASSPHRASE", PASSPHRASE)
    return tmp_path / "vault"


def damage_in(vault_path: Path, name: str, purpose: str, case: dict[str, Any]) -> None:
    service = Reflect.unlock(vault_path, PASSPHRASE)
    store = store_of(service)
    base = pending_base("c0ffee00") if purpose == PURPOSE_PENDING else stored_json(store, name)
    reseal(store, name, damaged(base, case), purpose)
    service.lock()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from reflect.cli import main

    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, " ".join((out + err).split())


@pytest.mark.parametrize("how", ["wrong type", "flipped byte"])
def test_cli_lists_sessions_over_a_damaged_catalog(
    cli_vault: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    if how == "wrong type":
        damage_in(cli_vault, CATALOG, PURPOSE_CATALOG, CASES["catalog"][3])
    else:
        from tests.test_index_damage import flip, object_file

        flip(object_file(cli_vault, CATALOG))
    code, said = run(["sessions"], capsys)
    assert code == 0 and "The bees" in said


def test_damaged_settings_are_written_afresh_by_setting_one(
    cli_vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_in(cli_vault, SETTINGS, PURPOSE_SETTINGS, CASES["settings"][2])
    code, said = run(["quotes", "beehives", "--json"], capsys)
    assert code == 1 and "settings are damaged" in said and "speakers --me" in said
    assert run(["speakers", "--me", "Ines"], capsys)[0] == 0
    code, said = run(["quotes", "beehives", "--json"], capsys)
    assert code == 0 and "beehives to the orchard" in said


def test_a_session_damaged_inside_is_set_aside_and_left_out_of_a_backup(
    template: Path, tmp_path: Path
) -> None:
    import shutil

    shutil.copytree(template, tmp_path / "vault")
    service = Reflect.unlock(tmp_path / "vault", PASSPHRASE)
    store = store_of(service)
    sid = session_id(store)
    case = next(c for c in CASES["session"] if c["why"] == "a start time is a string")
    reseal(
        store, session_name(sid), damaged(stored_json(store, session_name(sid)), case), "session"
    )
    service.open_index()
    (note,) = service.index_notes()
    assert "set aside" in note and sid in note
    report = service.backup(tmp_path / "b.bin", "backup words", kdf=crypto.floor_kdf_params())
    assert report.sessions == 0 and "the bees" in report.left_out[0].casefold()
    service.lock()


def test_a_backup_holding_a_damaged_session_says_so_on_restore(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reflect import backup
    from reflect.errors import VaultCorrupted

    sid = session_id(store)
    case = next(c for c in CASES["session"] if c["why"] == "text is an object")
    reseal(
        store, session_name(sid), damaged(stored_json(store, session_name(sid)), case), "session"
    )
    target = tmp_path / "b.bin"
    with monkeypatch.context() as m:  # a backup made before the check, or by hand
        m.setattr(backup, "decode_session", lambda data: data)
        backup.write_backup(store, target, "backup words", kdf=crypto.floor_kdf_params())
    fresh = Reflect.create(tmp_path / "fresh", PASSPHRASE, kdf=crypto.floor_kdf_params())
    with pytest.raises(VaultCorrupted, match=r"b\.bin holds a damaged part"):
        fresh.restore(target, "backup words")
    fresh.lock()


def test_a_damaged_unfinished_transcription_can_be_discarded(
    cli_vault: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = next(c for c in CASES["pending"] if c["why"] == "session_id is an object")
    damage_in(cli_vault, "pending/" + "ab" * 32, PURPOSE_PENDING, case)
    service = Reflect.unlock(cli_vault, PASSPHRASE)
    kept = "audio/" + session_id(store_of(service))
    service_vault = store_of(service).vault
    service_vault.put(kept, b"a session's recording", purpose="audio")
    service_vault.put("audio/c0ffee00", b"the damaged job's recording", purpose="audio")
    service.lock()

    code, said = run(["status"], capsys)
    assert code == 1 and "unfinished transcription stored in the vault is damaged" in said
    code, said = run(["import", "--discard-unfinished"], capsys)
    assert code == 0 and "Forgot the unfinished transcription of a damaged recording" in said
    assert run(["status"], capsys)[0] == 0
    service = Reflect.unlock(cli_vault, PASSPHRASE)
    assert store_of(service).vault.names("audio/") == [kept]
    service.lock()


# ---- a model folder's JSON ----------------------------------------------------------------


MODEL_FILES: dict[str, Any] = {
    "modules.json": [
        {"type": "sentence_transformers.models.Transformer"},
        {"type": "sentence_transformers.models.Pooling"},
        {"type": "sentence_transformers.models.Normalize"},
    ],
    "config.json": {
        "model_type": "bert",
        "hidden_act": "gelu",
        "num_attention_heads": 12,
        "num_hidden_layers": 6,
        "hidden_size": 384,
        "layer_norm_eps": 1e-12,
    },
    "1_Pooling/config.json": {"pooling_mode_mean_tokens": True},
    "sentence_bert_config.json": {"max_seq_length": 256},
}


def model_folder(root: Path, case: dict[str, Any] | None = None) -> Path:
    folder = root / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    for name, document in MODEL_FILES.items():
        data = json.dumps(document).encode()
        if case is not None and case["file"] == name:
            data = damaged(document, case)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("case", cases("embedding_model_folder"))
def test_an_odd_model_folder_is_not_taken_by_the_numpy_encoder(
    tmp_path: Path, case: dict[str, Any]
) -> None:
    from reflect import bert_numpy

    assert bert_numpy.supports(model_folder(tmp_path / "good"))
    assert not bert_numpy.supports(model_folder(tmp_path / "odd", case))


# ---- the manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("manifest"))
def test_a_damaged_manifest(template: Path, tmp_path: Path, case: dict[str, Any]) -> None:
    import shutil

    from reflect.errors import VaultCorrupted
    from reflect.vault import _MANIFEST_ID, _MANIFEST_PURPOSE, MANIFEST_FILE

    shutil.copytree(template, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault", PASSPHRASE)
    key = vault._vault_key()
    base = json.loads(vault._current_manifest().encode())
    vault.close()
    sealed = crypto.seal(key, _MANIFEST_PURPOSE, _MANIFEST_ID, damaged(base, case))
    (tmp_path / "vault" / MANIFEST_FILE).write_bytes(b"".join(sealed))
    with pytest.raises(VaultCorrupted, match="manifest is unreadable"):
        Vault.open(tmp_path / "vault", PASSPHRASE)


# ---- the person's own marks: saved moments and agreement marks -------------------------------


def moments_base(store: SessionStore) -> dict[str, Any]:
    return {
        "version": 1,
        "moments": [
            {
                "id": "ab12cd34",
                "session_id": session_id(store),
                "label": "the beehives",
                "kept_at": "2025-02-04T09:00:00+00:00",
                "first_turn": 0,
                "last_turn": 1,
                "start": 4.0,
                "end": None,
                "text": "What did the weekend bring?",
            }
        ],
    }


def test_the_moments_base_reads_back(store: SessionStore) -> None:
    reseal(store, MOMENTS, json.dumps(moments_base(store)).encode(), PURPOSE_MOMENTS)
    (moment,) = store.moments()
    assert moment.label == "the beehives"


@pytest.mark.parametrize("case", cases("moments"))
def test_damaged_saved_moments(store: SessionStore, case: dict[str, Any]) -> None:
    reseal(store, MOMENTS, damaged(moments_base(store), case), PURPOSE_MOMENTS)
    with pytest.raises(VaultCorrupted, match="saved moments are damaged"):
        store.moments()


MARKS_BASE = {
    "version": 1,
    "marks": {"a1": {"status": "done", "session": "ab" * 32, "marked": "2025-02-04"}},
}


def test_the_marks_base_reads_back(store: SessionStore) -> None:
    reseal(store, AGREEMENT_STATUS, json.dumps(MARKS_BASE).encode(), PURPOSE_AGREEMENT_STATUS)
    assert store.agreement_marks()["a1"].status == "done"


@pytest.mark.parametrize("case", cases("agreement_marks"))
def test_damaged_agreement_marks(store: SessionStore, case: dict[str, Any]) -> None:
    reseal(store, AGREEMENT_STATUS, damaged(MARKS_BASE, case), PURPOSE_AGREEMENT_STATUS)
    with pytest.raises(VaultCorrupted, match="agreements you marked"):
        store.agreement_marks()
