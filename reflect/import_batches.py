"""Importing many text files: their chunks embedded together, each session still stored alone.

Why: embedding is ~90% of an import's time (bench/README.md, "Import speed"). One embedding
call per session makes a session of 6 chunks one short, padded batch; the chunks of several
sessions sorted by length together fill their batches with texts of about the same length.
Each session is still committed in its own transaction, in file order, so an interruption
loses at most the group in hand (a few seconds of embedding), never half of a session.

A group holds files in the order they were read: parsed sessions waiting for their
embeddings, and the files already decided (failed, duplicate) between them, so the report
lists every file in the order it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from reflect.session import Session

# Told how many of the group's passages are embedded so far, and of how many.
IndexingProgress = Callable[[int, int], None]


class BatchIndexer(Protocol):
    """Builds the index records of several sessions at once (one embedding call for them
    all), in the order given; None where a session gets none."""

    def __call__(
        self, sessions: Sequence[Session], *, progress: IndexingProgress | None = None
    ) -> Sequence[bytes | None]: ...


# How much session text a group gathers before it is embedded: ~160 AnnoMI chunks, ~5 s
# of embedding on one core. Larger groups gained little more (bench/README.md) and would
# make cancelling an import wait longer.
GROUP_CHARS = 48_000

Pending = TypeVar("Pending")
Done = TypeVar("Done")


@dataclass(slots=True)
class FileGroup(Generic[Pending, Done]):
    """Files read but not yet stored: `Pending` items wait for their index records, `Done`
    items (results decided when the file was read) keep their place in the order."""

    size: Callable[[Pending], int]
    # Read when the group is made, not when this module is (tests shrink it).
    limit: int = field(default_factory=lambda: GROUP_CHARS)
    entries: list[tuple[Pending | None, Done | None]] = field(default_factory=list)
    chars: int = 0

    def add_pending(self, item: Pending) -> None:
        self.entries.append((item, None))
        self.chars += self.size(item)

    def add_done(self, result: Done) -> None:
        self.entries.append((None, result))

    @property
    def full(self) -> bool:
        return self.chars >= self.limit

    def pending(self) -> list[Pending]:
        return [item for item, _ in self.entries if item is not None]

    def take(self) -> list[tuple[Pending | None, Done | None]]:
        """Every entry, in order; the group is empty after."""
        entries, self.entries, self.chars = self.entries, [], 0
        return entries


def records_in_order(
    sessions: Sequence[Session],
    indexer: BatchIndexer | None,
    progress: IndexingProgress | None = None,
) -> list[bytes | None]:
    """The index records of `sessions`, one per session (None without an indexer)."""
    if indexer is None or not sessions:
        return [None] * len(sessions)
    records = list(indexer(sessions, progress=progress))
    if len(records) != len(sessions):
        raise ValueError(f"{len(records)} index records for {len(sessions)} sessions")
    return records
