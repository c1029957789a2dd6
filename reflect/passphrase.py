"""Getting the passphrase from the person (no echo) or, for scripts, as restic does.

Order: REFLECT_PASSPHRASE_FILE (a file holding it), REFLECT_PASSPHRASE, then an interactive
prompt. Without a terminal and without either variable, a clear error instead of a hang.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from reflect.errors import PassphraseUnavailable, UsageError

MIN_LENGTH = 8


def read_passphrase_file(path: str | os.PathLike[str]) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as e:
        raise PassphraseUnavailable(
            f"Can't read the passphrase file {path}: {e.strerror}."
        ) from None
    except UnicodeDecodeError:
        raise PassphraseUnavailable(f"The passphrase file {path} isn't UTF-8 text.") from None
    text = _one_line(text, f"The passphrase file {path}")
    if not text:
        raise PassphraseUnavailable(f"The passphrase file {path} is empty.")
    return text


def _one_line(text: str, source: str) -> str:
    """The passphrase as typed. Editors add a byte-order mark (Notepad) and final line ends,
    and `echo` adds one to a variable; none of them is ever part of a passphrase. Leading and
    trailing spaces are kept: someone may have typed them."""
    text = text.removeprefix("\ufeff").rstrip("\r\n")
    if "\n" in text or "\r" in text:
        raise PassphraseUnavailable(
            f"{source} holds more than one line; put only the passphrase in it, on one line."
        )
    return text


def from_environment() -> str | None:
    file = os.environ.get("REFLECT_PASSPHRASE_FILE")
    if file:
        return read_passphrase_file(file)
    value = _one_line(os.environ.get("REFLECT_PASSPHRASE", ""), "REFLECT_PASSPHRASE")
    return value or None


def _interactive() -> bool:
    return sys.stdin.isatty()


def ask_existing(prompt: str = "Passphrase: ") -> str:
    found = from_environment()
    if found is not None:
        return found
    if not _interactive():
        raise PassphraseUnavailable(
            "No passphrase given. Type it in a terminal, or set REFLECT_PASSPHRASE_FILE "
            "(a file holding it) or REFLECT_PASSPHRASE."
        )
    return getpass.getpass(prompt)


def strength_hint(passphrase: str) -> str | None:
    """A gentle hint for weak passphrases; None when it looks fine."""
    if len(passphrase) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(passphrase) < 14 and len(set(passphrase)) < 6:
        return "This is easy to guess. A few unrelated words make a strong, memorable passphrase."
    if len(passphrase) < 12:
        return "Fine, but longer is stronger: a few unrelated words are easy to remember."
    return None


def ask_new(prompt: str = "New passphrase: ", *, file: str | None = None) -> str:
    """A new passphrase: from `file`, the environment, or typed twice."""
    if file:
        value = read_passphrase_file(file)
    else:
        env = from_environment()
        if env is not None:
            value = env
        elif not _interactive():
            raise PassphraseUnavailable(
                "No new passphrase given. Type it in a terminal, or pass a file holding it."
            )
        else:
            value = getpass.getpass(prompt)
            if len(value) < MIN_LENGTH:
                raise UsageError(f"The passphrase needs at least {MIN_LENGTH} characters.")
            hint = strength_hint(value)
            if hint:
                print(hint, file=sys.stderr)
            if getpass.getpass("Type it again: ") != value:
                raise UsageError("The two passphrases don't match. Nothing was changed.")
    if len(value) < MIN_LENGTH:
        raise UsageError(f"The passphrase needs at least {MIN_LENGTH} characters.")
    return value
