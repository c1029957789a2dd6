"""Two writers on one vault at once: neither may undo the other (issue #13, item 2).

Each race is made to happen every time, not by luck. Writer A is paused at its slow part (a
fake embedder that waits on an event) or at the read its change is based on; writer B then
runs: to the end if A holds no lock, or until it waits on the writer lock A holds. Then A
goes on. Both are `Reflect` instances of their own on the same vault folder, so they share
nothing but the files and the real writer lock, as two commands or the app and a command do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reflect import crypto
from reflect.errors import ReflectError, SessionNotFound
from reflect.ingest import ImportOptions
from reflect.records import AUDIO_PREFIX, INDEX_PREFIX, SESSION_PREFIX
from reflect.service import Reflect
from reflect.testing import FakeEmbedder, FakeTranscriber, live_index_of, store_of, vault_of
from tests.audio_fixtures import AUDIO
from tests.conftest import PASSPHRASE
from tests.test_cli_sessions import SESSION

WALK = """WEBVTT

00:00:01.000 --> 00:00:03.000
<v Dr. Lindqvist>You said the walks help.

00:00:04.000 --> 00:00:08.000
<v Ezra>Mornings by the canal, before anyone else is up.
"""

WAIT = 30.0  # seconds; only reached if a writer hangs, which fails the test


class Gate:
    """Where writer A stops: its first embedding, or its first read of one kind of object."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self._passed = False

    def stop_here(self) -> None:
        if not self._passed:
            self._passed = True
            self.reached.set()
            assert self.release.wait(WAIT), "writer A was never released"


class GatedTranscriber(FakeTranscriber):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self._gate = gate

    def transcribe(self, samples: Any, **kwargs: Any) -> Any:
        self._gate.stop_here()
        return super().transcribe(samples, **kwargs)


class GatedEmbedder(FakeEmbedder):
    def __init__(self, gate: Gate, dimension: int = 64) -> None:
        super().__init__(dimension)
        self._gate = gate

    def embed(self, texts: Any, **kwargs: Any) -> Any:
        self._gate.stop_here()
        return super().embed(texts, **kwargs)


@dataclass(frozen=True)
class Writer:
    name: str
    run: Callable[[Reflect, str, Path], object]
    pause_at: str  # "embed", or the purpose of the vault object whose read is paused
    holds: Callable[[Reflect, str], bool]  # its change is in the vault
    on_session: bool = True  # works on the session (so a removal may beat it)


def _speaker(service: Reflect, sid: str, turn: int) -> str | None:
    return store_of(service).get(sid).turns[turn - 1].speaker


def _import(service: Reflect, sid: str, tmp: Path) -> object:
    return service.import_paths([tmp / "new"], ImportOptions())


def _walks(service: Reflect) -> int:
    return sum(1 for s in service.sessions() if s.source_file == "2025-03-01 walk.vtt")


WRITERS = [
    Writer(
        "rename",
        lambda s, sid, tmp: s.rename(sid, "My new title"),
        "session",
        lambda s, sid: store_of(s).get(sid).title == "My new title",
    ),
    Writer(
        "redate",
        lambda s, sid, tmp: s.redate(sid, dt.date(2024, 1, 2)),
        "session",
        lambda s, sid: store_of(s).get(sid).date == dt.date(2024, 1, 2),
    ),
    Writer(
        "rename speaker",
        lambda s, sid, tmp: s.label_speakers(sid, "Dr. Lind", rename="Dr. Lindqvist"),
        "embed",
        lambda s, sid: _speaker(s, sid, 1) == _speaker(s, sid, 3) == "Dr. Lind",
    ),
    Writer(
        "label a turn",
        lambda s, sid, tmp: s.label_speakers(sid, "Ezra B", turns=[2]),
        "embed",
        lambda s, sid: _speaker(s, sid, 2) == "Ezra B",
    ),
    Writer(
        "remove",
        lambda s, sid, tmp: s.remove(sid),
        "catalog",
        lambda s, sid: all(x.id != sid for x in s.sessions()),
    ),
    Writer(
        "speakers --me",
        lambda s, sid, tmp: s.set_me("Dr. Lindqvist"),
        "settings",
        lambda s, sid: "Dr. Lindqvist" in s.me_labels(),
        on_session=False,
    ),
    Writer(
        "settings",
        lambda s, sid, tmp: s.update_settings(idle_lock_minutes=3),
        "settings",
        lambda s, sid: s.settings().idle_lock_minutes == 3,
        on_session=False,
    ),
    Writer("import", _import, "embed", lambda s, sid: _walks(s) == 1, on_session=False),
    Writer(
        "keep a moment",
        lambda s, sid, tmp: s.keep(sid, at=5.0, label="the alto line"),
        "session",
        lambda s, sid: [m.label for m in s.moments()] == ["the alto line"],
    ),
]
PAIRS = [
    (a, b) for a in WRITERS for b in WRITERS if a is not b or a.name == "import"
]


@pytest.fixture
def vault_with_session(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "vault"
    service = Reflect.create(path, PASSPHRASE, kdf=crypto.floor_kdf_params())
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "2025-02-20 choir.vtt").write_text(SESSION)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "2025-03-01 walk.vtt").write_text(WALK)
    service.import_paths([tmp_path / "old"], ImportOptions(me="Ezra"))
    (sid,) = [s.id for s in service.sessions()]
    service.lock()
    return path, sid


def _gate(service: Reflect, gate: Gate, purpose: str) -> None:
    """Stop `service` just after its first read of an object of `purpose`, until the gate
    opens."""
    read = vault_of(service)._read_object

    def gated(entry: Any) -> bytes:
        data = read(entry)
        if entry.purpose == purpose:
            gate.stop_here()  # with what it read in hand, as a slow reader would be
        return data

    vault_of(service)._read_object = gated  # type: ignore[method-assign]


def _watch_lock(service: Reflect, asking: threading.Event, held: threading.Event) -> None:
    take = vault_of(service)._writer_lock

    @contextlib.contextmanager
    def watched() -> Iterator[None]:
        asking.set()
        with take():
            held.set()
            try:
                yield
            finally:
                held.clear()

    vault_of(service)._writer_lock = watched  # type: ignore[method-assign]


def race(
    path: Path,
    first: Callable[[Reflect], object],
    second: Callable[[Reflect], object],
    pause_at: str,
    *,
    dimension: int = 64,
) -> dict[str, BaseException | None]:
    """Run `first` until it reaches `pause_at` ("embed", "transcribe" or an object's
    purpose), then `second`, then let `first` finish.

    Returns what each raised (None if nothing)."""
    gate = Gate()
    gated = pause_at == "embed"
    a = Reflect.unlock(
        path,
        PASSPHRASE,
        embedder_factory=(lambda: GatedEmbedder(gate, dimension)) if gated else FakeEmbedder,
    )
    if pause_at == "transcribe":
        a = Reflect.unlock(path, PASSPHRASE, transcriber_factory=lambda: GatedTranscriber(gate))
    b = Reflect.unlock(path, PASSPHRASE, embedder_factory=FakeEmbedder)
    if not gated and pause_at != "transcribe":
        _gate(a, gate, pause_at)
    a_asking, a_holds, b_asking, b_holds = (threading.Event() for _ in range(4))
    _watch_lock(a, a_asking, a_holds)
    _watch_lock(b, b_asking, b_holds)
    outcome: dict[str, BaseException | None] = {}

    def run(name: str, service: Reflect, work: Callable[[Reflect], object]) -> None:
        try:
            work(service)
            outcome[name] = None
        except BaseException as e:  # reported to the test below
            outcome[name] = e

    ta = threading.Thread(target=run, args=("a", a, first))
    tb = threading.Thread(target=run, args=("b", b, second))
    ta.start()
    assert gate.reached.wait(WAIT), "writer A never reached its slow part"
    tb.start()
    if a_holds.is_set():
        assert b_asking.wait(WAIT)  # B now waits on the lock A holds
    else:
        tb.join(WAIT)
        assert not tb.is_alive()
    gate.release.set()
    ta.join(WAIT)
    tb.join(WAIT)
    assert not ta.is_alive() and not tb.is_alive()
    a.lock()
    b.lock()
    return outcome


def assert_whole(service: Reflect) -> None:
    """Catalog, sessions and index records name the same sessions, each once."""
    catalog = [s.id for s in service.sessions()]
    assert len(catalog) == len(set(catalog))
    names = vault_of(service).names()
    stored = {n.removeprefix(SESSION_PREFIX) for n in names if n.startswith(SESSION_PREFIX)}
    indexed = {n.removeprefix(INDEX_PREFIX) for n in names if n.startswith(INDEX_PREFIX)}
    assert stored == set(catalog) == indexed
    hashes = [s.content_hash for s in service.sessions()]
    assert len(hashes) == len(set(hashes))


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a.name}|{b.name}" for a, b in PAIRS])
def test_a_slow_writer_keeps_what_a_fast_one_wrote(
    vault_with_session: tuple[Path, str], a: Writer, b: Writer
) -> None:
    path, sid = vault_with_session
    tmp = path.parent
    outcome = race(path, lambda s: a.run(s, sid, tmp), lambda s: b.run(s, sid, tmp), a.pause_at)
    after = Reflect.unlock(path, PASSPHRASE, embedder_factory=FakeEmbedder)
    assert_whole(after)
    removed = "remove" in (a.name, b.name)
    for writer, error in ((a, outcome["a"]), (b, outcome["b"])):
        if removed and writer.on_session and writer.name != "remove":
            # The session went; a writer working on it may only say so, calmly.
            if error is not None:
                assert isinstance(error, SessionNotFound), error
                assert "removed" in error.message
            continue
        assert error is None, f"{writer.name}: {error!r}"
        assert writer.holds(after, sid), f"{writer.name}'s change was lost"
    if removed:
        assert not any(sid in n for n in vault_of(after).names())
    after.lock()


def test_a_removed_session_stays_removed_and_labelling_says_so(
    vault_with_session: tuple[Path, str],
) -> None:
    path, sid = vault_with_session
    outcome = race(
        path,
        lambda s: s.label_speakers(sid, "X", turns=[2]),
        lambda s: s.remove(sid),
        "embed",
    )
    error = outcome["a"]
    assert isinstance(error, ReflectError)
    assert error.message == "That session was removed meanwhile, so nothing was changed."
    after = Reflect.unlock(path, PASSPHRASE, embedder_factory=FakeEmbedder)
    assert after.sessions() == []
    assert vault_of(after).names(SESSION_PREFIX) == vault_of(after).names(INDEX_PREFIX) == []


@pytest.mark.parametrize("other", ["label", "remove"])
def test_reindexing_at_unlock_keeps_what_another_writer_did(
    vault_with_session: tuple[Path, str], other: str
) -> None:
    """A new embedding model re-embeds every session at unlock; a session relabelled or
    removed meanwhile keeps its writer's record (or stays without one)."""
    path, sid = vault_with_session
    outcome = race(
        path,
        lambda s: s.open_index(),
        lambda s: s.label_speakers(sid, "Ezra B", turns=[2]) if other == "label" else s.remove(sid),
        "embed",
        dimension=32,  # another model than the one that made the stored records
    )
    assert outcome == {"a": None, "b": None}
    after = Reflect.unlock(path, PASSPHRASE, embedder_factory=FakeEmbedder)
    assert_whole(after)
    if other == "label":
        current = store_of(after).get(sid)
        assert current.turns[1].speaker == "Ezra B"
        assert store_of(after).index_record(sid) == live_index_of(after).record_for(current)
    after.lock()


@pytest.mark.parametrize("other", ["import", "discard"])
def test_a_recording_imported_twice_at_once_is_stored_once(
    vault_with_session: tuple[Path, str], other: str
) -> None:
    """The second import carries on the first one's unfinished transcription and finishes
    it, or the app discards it; the first one then neither stores the session again nor
    brings back the unfinished record it was working on."""
    path, _ = vault_with_session
    recording = path.parent / "2025-03-08 session.ogg"
    recording.write_bytes((AUDIO / "session_mono.ogg").read_bytes())

    def second(s: Reflect) -> object:
        if other == "import":
            return s.import_paths([recording])
        (pending,) = s.pending_recordings()
        s.discard_pending(pending.content_hash)
        return None

    outcome = race(path, lambda s: s.import_paths([recording]), second, "transcribe")
    assert outcome == {"a": None, "b": None}
    after = Reflect.unlock(path, PASSPHRASE, embedder_factory=FakeEmbedder)
    assert_whole(after)
    assert after.pending_recordings() == []
    recorded = [s.id for s in after.sessions() if s.format == "recording"]
    assert len(recorded) == (1 if other == "import" else 0)
    assert vault_of(after).names(AUDIO_PREFIX) == [f"{AUDIO_PREFIX}{i}" for i in recorded]
    after.lock()
