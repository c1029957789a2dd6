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
