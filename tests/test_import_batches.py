"""Importing text files in groups embedded together (reflect/import_batches.py): the same
sessions and records as one file at a time, in file order, with fewer embedding calls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from reflect import crypto
from reflect.embedding import Progress, Vectors
from reflect.import_batches import FileGroup, records_in_order
from reflect.index_record import decode_index_record, read_index_record
from reflect.ingest import ImportOptions, import_paths
from reflect.service import Reflect
from reflect.session import Session
from reflect.testing import FakeEmbedder, live_index_of, store_of
from tests.conftest import PASSPHRASE


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering how many texts each call embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None
    ) -> Vectors:
        self.calls.append(len(texts))
        return super().embed(texts, batch_size=batch_size, progress=progress)


def transcript(n: int) -> str:
    """An invented session; `n` makes each one distinct (and longer)."""
    lines = [
        f"[00:00:{i:02d}] {'Therapist' if i % 2 else 'Juniper'}: "
        f"Week {n}, thought {i}: the allotment, the bus {n} times, my sister's kettle."
        for i in range(2 + n)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def service(tmp_path: Path, embedder: CountingEmbedder) -> Reflect:
    return Reflect.create(
        tmp_path / "vault",
        PASSPHRASE,
        kdf=crypto.floor_kdf_params(),
        embedder_factory=lambda: embedder,
    )


def write(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(start, start + count):
        path = folder / f"2025-04-{n + 1:02d} juniper.txt"
        path.write_text(transcript(n))
        paths.append(path)
    return paths


# ---- the group --------------------------------------------------------------------------


def test_a_group_keeps_file_order_and_fills_up_by_size() -> None:
    group: FileGroup[str, int] = FileGroup(len, limit=6)
    group.add_pending("abc")
    group.add_done(7)
    assert not group.full
    group.add_pending("def")
    assert group.full and group.pending() == ["abc", "def"]
    assert group.take() == [("abc", None), (None, 7), ("def", None)]
    assert group.entries == [] and group.chars == 0 and not group.full


def test_records_come_one_per_session() -> None:
    def one_record(sessions: Sequence[Session], *, progress: object = None) -> list[bytes]:
        return [b"one"]

    assert records_in_order([], one_record) == []
    sessions: list[Session] = [object(), object()]  # type: ignore[list-item]
    assert records_in_order(sessions, None) == [None, None]
    with pytest.raises(ValueError):
        records_in_order(sessions, one_record)


# ---- importing in groups ----------------------------------------------------------------


def test_many_sessions_are_embedded_in_one_call(
    service: Reflect, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    write(tmp_path / "in", 6)
    report = service.import_paths([tmp_path / "in"])
    assert report.count("imported") == 6 and not report.stopped
    records = [
        read_index_record(store_of(service).index_record(s.id) or b"") for s in service.sessions()
    ]
    sentences = sum(0 if r.sentences is None else len(r.sentences) for r in records)
    passages = sum(len(r.chunks) for r in records) + sentences
    # One call for the six sessions' chunks and sentences (the recaps reuse the stored vectors).
    assert embedder.calls == [passages]


def test_records_match_those_made_one_session_at_a_time(service: Reflect, tmp_path: Path) -> None:
    write(tmp_path / "in", 5)
    service.import_paths([tmp_path / "in"])
    live = live_index_of(service)
    for summary in service.sessions():
        session = service.session(summary.id)
        grouped = decode_index_record(store_of(service).index_record(session.id) or b"")
        alone = decode_index_record(live.record_for(session))
        assert grouped[0] == alone[0] and grouped[1] == alone[1]
        np.testing.assert_allclose(grouped[2], alone[2], atol=1e-6)


def test_groups_are_split_by_size_and_results_keep_file_order(
    service: Reflect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reflect.import_batches as batches

    folder = tmp_path / "in"
    paths = write(folder, 7)
    (folder / "2025-04-03 broken.txt").write_bytes(b"")
    (folder / "2025-04-05 copy.txt").write_text(transcript(1))  # the same as file 2
    monkeypatch.setattr(batches, "GROUP_CHARS", 2 * len(paths[3].read_text()))
    seen: list[list[str]] = []
    live = live_index_of(service)

    def indexer(sessions: Sequence[Session], *, progress: object = None) -> list[bytes]:
        seen.append([s.source_file for s in sessions])
        return live.records_for(sessions)

    report = import_paths(store_of(service), [folder], batch_indexer=indexer)
    order = sorted(p.name for p in folder.iterdir())
    assert [Path(r.path).name for r in report.results] == order
    statuses = {Path(r.path).name: r.status for r in report.results}
    assert statuses["2025-04-03 broken.txt"] == "failed"
    assert statuses["2025-04-05 copy.txt"] == "duplicate"
    assert len(seen) > 1 and [n for group in seen for n in group] == [p.name for p in paths]
    assert len(service.sessions()) == 7


def test_the_same_transcript_twice_in_a_group_is_stored_once(
    service: Reflect, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write(folder, 1)
    (folder / "2025-05-01 again.txt").write_text(transcript(0))
    report = service.import_paths([folder])
    assert [r.status for r in report.results] == ["imported", "duplicate"]
    assert len(service.sessions()) == 1


def test_replacing_with_two_files_of_one_name_keeps_the_last(
    service: Reflect, tmp_path: Path
) -> None:
    first, second = tmp_path / "a" / "talk.txt", tmp_path / "b" / "talk.txt"
    for path, n in ((first, 1), (second, 2)):
        path.parent.mkdir()
        path.write_text(transcript(n))
    service.import_paths([tmp_path / "a"])
    options = ImportOptions(replace=True)
    (tmp_path / "a" / "talk.txt").write_text(transcript(3))
    report = service.import_paths([tmp_path / "a", tmp_path / "b"], options)
    assert [r.status for r in report.results] == ["replaced", "replaced"]
    (summary,) = service.sessions()
    assert "Week 2," in service.session(summary.id).text


def test_a_stop_finishes_the_files_read_and_leaves_the_rest_out(
    service: Reflect, tmp_path: Path
) -> None:
    write(tmp_path / "in", 6)
    stored: list[str] = []

    def on_progress(p: object) -> None:
        if getattr(p, "files_done", 0) == 2:
            service.cancel_import()
        stored.append(str(getattr(p, "current", "")))

    report = service.import_paths([tmp_path / "in"], progress=on_progress)
    assert report.stopped and report.count("imported") == 3
    assert len(service.sessions()) == 3
    again = service.import_paths([tmp_path / "in"])
    assert again.count("imported") == 3 and again.count("duplicate") == 3
