"""Crash-safe file writes, private permissions, and bounded reads of the user's files.

A write is: temp file in the same folder, fsync, rename over the target, fsync the folder.
A crash at any instant leaves either the old file or the new one, never a torn mix.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from reflect.errors import DiskFull, TranscriptError, is_no_space

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_PREFIX = ".tmp-"


def private_umask() -> None:
    """Make every file this process creates readable by its owner only."""
    os.umask(0o077)


def disable_core_dumps() -> None:
    """A core dump of an unlocked process would hold keys and decrypted sessions."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # not on this platform; nothing to do
        pass


def ensure_private_dir(path: Path) -> None:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # some platforms can't open directories; rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(target: Path, *, size: int | None = None) -> Iterator[BinaryIO]:
    """Yield a file to write; on clean exit it replaces `target` atomically and durably.

    A full disk (or quota) raises `DiskFull` naming the folder, and `size` (when the caller
    knows how much it writes) as the space needed; the temp file is gone by then."""
    tmp = target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
    except OSError as e:
        if is_no_space(e):
            raise DiskFull(target.parent, size) from None
        raise
    fsync_dir(target.parent)


def atomic_write(target: Path, chunks: bytes | Iterable[bytes]) -> None:
    size = len(chunks) if isinstance(chunks, bytes) else None
    with atomic_writer(target, size=size) as f:
        if isinstance(chunks, bytes):
            f.write(chunks)
        else:
            for chunk in chunks:
                f.write(chunk)


def read_bounded(
    path: Path, limit: int, *, at_most: str, error: type[TranscriptError] = TranscriptError
) -> bytes:
    """A file the user named (a transcript, a handout), read whole if it is at most `limit`
    bytes: a wrongly chosen file (a film, a disk image) is refused before it is read, and
    one that grows while read is refused rather than cut. Every refusal is `error`, naming
    the file and saying why in plain words; `at_most` names the limit ("a handout is at
    most": "...; a handout is at most 20 MB")."""
    try:
        if path.is_dir():  # before its size: a folder's is not what the user would mean
            raise IsADirectoryError
        size = path.stat().st_size
        if size > limit:
            raise error(
                path.name, f"the file is {size / 1e6:.0f} MB; {at_most} {limit // 10**6} MB"
            )
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except PermissionError:
        raise error(path.name, "reflect isn't allowed to read this file") from None
    except IsADirectoryError:
        raise error(path.name, "this is a folder; name a file") from None
    except FileNotFoundError:
        raise error(path.name, "there is no such file") from None
    except OSError as e:
        raise error(path.name, f"can't read the file ({e.strerror or e})") from None
    if len(data) > limit:
        raise error(path.name, "the file grew while it was read; try again")
    return data
