"""One error family for everything a user can run into.

Every error reflect raises on purpose is a `ReflectError`: it carries a short title (for a
modal or the first word of a CLI line) and one plain sentence. The CLI prints those and
exits non-zero; the TUI shows them in a modal. Anything else is a bug.

Messages never contain transcript text: they name files and sessions, not what was said.
"""

from __future__ import annotations

import errno
import os


class ReflectError(Exception):
    title = "Something went wrong"
    exit_code = 1

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class UsageError(ReflectError):
    title = "Can't do that"
    exit_code = 2


class VaultError(ReflectError):
    title = "Vault problem"


class VaultNotFound(VaultError):
    title = "No vault here"


class VaultKeyFileMissing(VaultError):
    """The folder holds a vault's manifest or objects, but not the key file that opens them."""

    title = "Vault key file missing"


class VaultExists(VaultError):
    title = "Vault already exists"


class WrongPassphrase(VaultError):
    title = "Wrong passphrase"


class VaultCorrupted(VaultError):
    title = "Vault damaged"


class RecordDamaged(VaultCorrupted):
    """A sealed record decrypted and authenticated, but what it holds is not what reflect
    writes (a field of the wrong type, a turn outside its text): damage from a bug, a tool
    or a hand, never a traceback. One sentence per kind of record, never which field: that
    would tell a person nothing they could act on. A VaultCorrupted, so whatever sets a
    damaged object aside (a session, a backup's part) sets this one aside too."""

    title = "Vault damaged"


class CatalogDamaged(RecordDamaged):
    title = "Session list damaged"

    def __init__(self) -> None:
        super().__init__(
            "The vault's list of sessions is damaged, so reflect can't tell which sessions "
            "it holds. Restore the vault from a backup (`reflect restore`)."
        )


class SettingsDamaged(RecordDamaged):
    title = "Settings damaged"

    def __init__(self) -> None:
        super().__init__(
            "The vault's settings are damaged (your sessions are not). Setting one again "
            "writes them afresh: `reflect speakers --me LABEL` says which speaker you are."
        )


class SessionDamaged(RecordDamaged):
    title = "Session damaged"

    def __init__(self) -> None:
        super().__init__(
            "A session stored in the vault is damaged, so it can't be read. Restore it from "
            "a backup (`reflect restore`)."
        )


class PendingDamaged(RecordDamaged):
    title = "Unfinished transcription damaged"

    def __init__(self) -> None:
        super().__init__(
            "An unfinished transcription stored in the vault is damaged. Remove it with "
            "`reflect import --discard-unfinished` and import the recording again."
        )


class VaultTooNew(VaultError):
    title = "Vault made by a newer reflect"


class VaultLocked(VaultError):
    title = "Vault locked"


class PassphraseUnavailable(ReflectError):
    title = "Passphrase needed"
    exit_code = 2


class TranscriptError(ReflectError):
    """A file could not be read as a transcript. Always names the file, never its content."""

    title = "Couldn't read transcript"

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


class RecordingError(ReflectError):
    title = "Couldn't import recording"


class SessionNotFound(ReflectError):
    title = "No such session"


class DateNotUnderstood(UsageError):
    title = "Date not understood"


class EmbeddingModelMissing(ReflectError):
    title = "Search model missing"


class IndexRecordError(ReflectError):
    """A stored search index could not be read; the caller rebuilds it from the transcript."""

    title = "Search index unreadable"


class DiskFull(ReflectError):
    """A write failed for lack of space (or quota). Raised by the write layer
    (`reflect.fsutil.atomic_writer`), which has already removed what it began to write."""

    title = "Disk full"

    def __init__(self, folder: os.PathLike[str] | str, needed: int | None = None) -> None:
        where = f"The disk holding {folder} is full"
        if needed:
            how_much = f"reflect needs about {_megabytes(needed)} free there"
        else:
            how_much = "free some space on it"
        super().__init__(f"{where}: {how_much} and try again. Nothing was changed.")
        self.folder = str(folder)
        self.needed = needed


_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_no_space(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in _NO_SPACE


def as_reflect_error(error: BaseException) -> ReflectError | None:
    """The one mapping of low-level failures to what a person is told; None when `error`
    is a bug to report as such."""
    if isinstance(error, ReflectError):
        return error
    if is_no_space(error):
        assert isinstance(error, OSError)
        filename = error.filename
        folder = os.path.dirname(os.fspath(filename)) if filename else "this computer's data"
        return DiskFull(folder or ".")
    return None


def _megabytes(size: int) -> str:
    return f"{max(size / 1e6, 0.1):,.1f} MB"
