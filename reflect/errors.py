"""One error family for everything a user can run into.

Every error reflect raises on purpose is a `ReflectError`: it carries a short title (for a
modal or the first word of a CLI line) and one plain sentence. The CLI prints those and
exits non-zero; the TUI shows them in a modal. Anything else is a bug.

Messages never contain transcript text: they name files and sessions, not what was said.
"""

from __future__ import annotations


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


class SessionNotFound(ReflectError):
    title = "No such session"


class DateNotUnderstood(UsageError):
    title = "Date not understood"


class EmbeddingModelMissing(ReflectError):
    title = "Search model missing"


class IndexRecordError(ReflectError):
    """A stored search index could not be read; the caller rebuilds it from the transcript."""

    title = "Search index unreadable"
