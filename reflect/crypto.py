"""The cryptography under the vault: passphrase stretching, key wrapping, object sealing.

Key hierarchy:
    passphrase --Argon2id(params stored in the vault)--> key-encryption key (KEK)
    KEK --AEAD--> wraps a random 256-bit vault key
    vault key --HKDF-SHA256(per-object random salt, purpose label)--> per-object key

Changing the passphrase re-wraps the vault key only; objects are never rewritten.

Sealed object layout (all integers big-endian):
    magic "RFLOBJ" | version u16 | algorithm u8 | flags u8 | chunk_size u32 |
    object id 16B | HKDF salt 32B | nonce prefix 7B                        = header, 69 bytes
    then ciphertext chunks of chunk_size + 16 bytes (the last may be shorter).
Chunk i is sealed with nonce = prefix | i (u32) | last-flag (u8) and the whole header as
associated data, so a flipped bit, a truncation, a reordered or dropped chunk, or a header
from another object all fail authentication (the STREAM construction).
"""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reflect import schema
from reflect.errors import VaultCorrupted, VaultTooNew

KEY_SIZE = 32
TAG_SIZE = 16

# Argon2id bounds. Below the floor a stolen vault is too cheap to brute-force. The ceiling
# is the most `init` (tune_kdf_params) ever chooses, on the fastest machine: anything above
# it was not made by reflect, and a tampered key file or backup header could otherwise make
# opening take minutes and gigabytes of memory before failing.
KDF_MIN_MEMORY_KIB = 64 * 1024
KDF_MIN_ITERATIONS = 3
KDF_TUNE_MAX_MEMORY_KIB = 256 * 1024
KDF_MAX_MEMORY_KIB = KDF_TUNE_MAX_MEMORY_KIB
KDF_MAX_ITERATIONS = 16
KDF_MAX_LANES = 16
KDF_TARGET_SECONDS = 0.75

KDF_SCHEMA = {
    "algorithm": str,
    "memory_kib": int,
    "iterations": int,
    "lanes": int,
    "salt": schema.hex_string,
}

OBJECT_MAGIC = b"RFLOBJ"
OBJECT_VERSION = 1
ALG_AES_256_GCM = 1
ALG_CHACHA20_POLY1305 = 2
_ALGORITHMS: dict[int, type[AESGCM] | type[ChaCha20Poly1305]] = {
    ALG_AES_256_GCM: AESGCM,
    ALG_CHACHA20_POLY1305: ChaCha20Poly1305,
}
DEFAULT_CHUNK_SIZE = 64 * 1024
_HEADER = struct.Struct(">6sHBBI16s32s7s")
HEADER_SIZE = _HEADER.size
OBJECT_ID_SIZE = 16


@dataclass(frozen=True, slots=True)
class KdfParams:
    memory_kib: int
    iterations: int
    lanes: int
    salt: bytes

    def check_bounds(self) -> None:
        if (
            self.memory_kib < KDF_MIN_MEMORY_KIB
            or self.iterations < KDF_MIN_ITERATIONS
            or len(self.salt) < 16
        ):
            raise VaultCorrupted(
                "This vault's key settings are weaker than reflect allows; "
                "its key file may have been tampered with.",
                title="Unsafe vault settings",
            )
        if (
            self.memory_kib > KDF_MAX_MEMORY_KIB
            or self.iterations > KDF_MAX_ITERATIONS
            or not 1 <= self.lanes <= KDF_MAX_LANES
        ):
            raise VaultCorrupted(
                "These key settings ask for more than reflect ever chooses (at most "
                f"{KDF_MAX_MEMORY_KIB // 1024} MiB of memory, {KDF_MAX_ITERATIONS} passes and "
                f"{KDF_MAX_LANES} lanes), so the file may have been tampered with.",
                title="Unsafe vault settings",
            )

    def derive(self, passphrase: bytes) -> bytes:
        self.check_bounds()
        return Argon2id(
            salt=self.salt,
            length=KEY_SIZE,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        ).derive(passphrase)

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": "argon2id",
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
            "salt": self.salt.hex(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KdfParams:
        """From JSON already checked against KDF_SCHEMA."""
        if d["algorithm"] != "argon2id":
            raise VaultTooNew(
                "This vault uses a key algorithm this version of reflect doesn't know."
            )
        return cls(d["memory_kib"], d["iterations"], d["lanes"], bytes.fromhex(d["salt"]))


def floor_kdf_params() -> KdfParams:
    """The weakest settings reflect accepts. For tests and fixtures, never chosen at init."""
    return KdfParams(KDF_MIN_MEMORY_KIB, KDF_MIN_ITERATIONS, 1, os.urandom(16))


def tune_kdf_params(target_seconds: float = KDF_TARGET_SECONDS) -> KdfParams:
    """Pick Argon2id settings that take about `target_seconds` on this machine.

    Memory is raised first (it is what makes GPU guessing expensive), then passes.
    """
    base = floor_kdf_params()
    started = time.perf_counter()
    base.derive(b"calibration")
    elapsed = max(time.perf_counter() - started, 1e-3)
    factor = target_seconds / elapsed
    memory = KDF_MIN_MEMORY_KIB
    while factor >= 2 and memory * 2 <= KDF_TUNE_MAX_MEMORY_KIB:
        memory *= 2
        factor /= 2
    iterations = max(KDF_MIN_ITERATIONS, round(KDF_MIN_ITERATIONS * factor))
    iterations = min(iterations, KDF_MAX_ITERATIONS)
    return KdfParams(memory, iterations, 1, os.urandom(16))


def wrap_key(kek: bytes, vault_key: bytes, associated: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(12)
    return nonce, AESGCM(kek).encrypt(nonce, vault_key, associated)


def unwrap_key(kek: bytes, nonce: bytes, wrapped: bytes, associated: bytes) -> bytes | None:
    """The vault key, or None when the passphrase (hence the KEK) is wrong."""
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, associated)
    except InvalidTag:
        return None


def derive_object_key(vault_key: bytes, salt: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=salt,
        info=b"reflect/v1/object/" + purpose.encode(),
    ).derive(vault_key)


def derive_subkey(vault_key: bytes, label: str) -> bytes:
    """A key for one job other than sealing objects (its own HKDF label, so never the same)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=b"reflect/v1/" + label.encode()
    ).derive(vault_key)


def new_object_id() -> bytes:
    return os.urandom(OBJECT_ID_SIZE)


def _chunk_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _chunks(data: bytes | Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-block any stream of byte strings into pieces of exactly `size` (the last shorter)."""
    if isinstance(data, bytes):
        for i in range(0, len(data), size):
            yield data[i : i + size]
        return
    buffer = bytearray()
    for piece in data:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def seal(
    vault_key: bytes,
    purpose: str,
    object_id: bytes,
    data: bytes | Iterable[bytes],
    *,
    algorithm: int = ALG_AES_256_GCM,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Encrypt `data` as a sealed object, yielding the file's bytes piece by piece."""
    salt = os.urandom(32)
    prefix = os.urandom(7)
    header = _HEADER.pack(
        OBJECT_MAGIC, OBJECT_VERSION, algorithm, 0, chunk_size, object_id, salt, prefix
    )
    aead = _ALGORITHMS[algorithm](derive_object_key(vault_key, salt, purpose))
    yield header
    pending: bytes | None = None
    index = 0
    for chunk in _chunks(data, chunk_size):
        if pending is not None:
            yield aead.encrypt(_chunk_nonce(prefix, index, False), pending, header)
            index += 1
        pending = chunk
    # An empty object is still one (empty) final chunk, so truncation to the header fails.
    yield aead.encrypt(_chunk_nonce(prefix, index, True), pending or b"", header)


@dataclass(frozen=True, slots=True)
class ObjectHeader:
    raw: bytes
    version: int
    algorithm: int
    chunk_size: int
    object_id: bytes
    salt: bytes
    nonce_prefix: bytes


def read_header(blob: bytes, what: str) -> ObjectHeader:
    if len(blob) < HEADER_SIZE or blob[:6] != OBJECT_MAGIC:
        raise VaultCorrupted(f"{what} is not a reflect vault object (damaged or replaced).")
    _magic, version, algorithm, _flags, chunk_size, object_id, salt, prefix = _HEADER.unpack_from(
        blob
    )
    if version > OBJECT_VERSION:
        raise VaultTooNew(
            f"{what} was written by a newer version of reflect; update reflect to read it."
        )
    if algorithm not in _ALGORITHMS or not 1024 <= chunk_size <= 64 * 1024 * 1024:
        raise VaultCorrupted(f"{what} has a damaged header.")
    return ObjectHeader(blob[:HEADER_SIZE], version, algorithm, chunk_size, object_id, salt, prefix)


def open_sealed(
    vault_key: bytes, purpose: str, blob: bytes, *, expected_id: bytes, what: str
) -> bytes:
    """Decrypt a whole sealed object; any tampering raises VaultCorrupted."""
    header = read_header(blob, what)
    if header.object_id != expected_id:
        raise VaultCorrupted(f"{what} holds a different object than expected (files swapped?).")
    aead = _ALGORITHMS[header.algorithm](derive_object_key(vault_key, header.salt, purpose))
    step = header.chunk_size + TAG_SIZE
    body = memoryview(blob)[HEADER_SIZE:]
    if len(body) < TAG_SIZE:
        raise VaultCorrupted(f"{what} is truncated.")
    out = bytearray()
    index = 0
    pos = 0
    while True:
        piece = bytes(body[pos : pos + step])
        last = pos + step >= len(body)
        try:
            out += aead.decrypt(_chunk_nonce(header.nonce_prefix, index, last), piece, header.raw)
        except InvalidTag:
            raise VaultCorrupted(
                f"{what} failed its integrity check (damaged, truncated or altered)."
            ) from None
        if last:
            return bytes(out)
        pos += step
        index += 1


def sealed_under(
    vault_key: bytes, purposes: Iterable[str], file: BinaryIO, *, expected_id: bytes
) -> bool:
    """Whether `file` is object `expected_id` sealed under `vault_key` with one of `purposes`.

    Its header and first chunk must authenticate: a file that merely looks like an object,
    or one sealed under another vault's key, is not this vault's.
    """
    try:
        header = read_header(file.read(HEADER_SIZE), "object")
    except (VaultCorrupted, VaultTooNew):
        return False
    if header.object_id != expected_id:
        return False
    piece = file.read(header.chunk_size + TAG_SIZE)
    last = not file.read(1)
    nonce = _chunk_nonce(header.nonce_prefix, 0, last)
    for purpose in purposes:
        aead = _ALGORITHMS[header.algorithm](derive_object_key(vault_key, header.salt, purpose))
        try:
            aead.decrypt(nonce, piece, header.raw)
        except InvalidTag:
            continue
        return True
    return False


def open_sealed_stream(
    vault_key: bytes,
    purpose: str,
    file: BinaryIO,
    *,
    what: str,
    max_chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Decrypt a sealed object read front to back from `file`, one chunk at a time.

    For input of any length, even endless: at most two chunks are held, and the first chunk
    that fails authentication stops the reading. The header is checked at once; chunks are
    yielded as they authenticate, so the caller may see the start of an object whose end
    turns out damaged (the last-chunk flag in each nonce still refuses a truncation). The
    object id is not compared with an expectation: the caller has none (a backup names its
    own).
    """
    header = read_header(file.read(HEADER_SIZE), what)
    if header.chunk_size > max_chunk_size:
        raise VaultCorrupted(f"{what} has a damaged header.")
    aead = _ALGORITHMS[header.algorithm](derive_object_key(vault_key, header.salt, purpose))
    step = header.chunk_size + TAG_SIZE

    def chunks() -> Iterator[bytes]:
        piece = file.read(step)
        index = 0
        while True:
            # A full chunk may or may not be the last: only the next read can tell.
            following = file.read(step) if len(piece) == step else b""
            last = not following
            nonce = _chunk_nonce(header.nonce_prefix, index, last)
            try:
                plain = aead.decrypt(nonce, piece, header.raw)
            except InvalidTag:
                raise VaultCorrupted(
                    f"{what} failed its integrity check (damaged, truncated or altered)."
                ) from None
            yield plain
            if last:
                return
            piece = following
            index += 1

    return chunks()


class SealedReader(io.RawIOBase):
    """Random-access reading of a sealed object, decrypting only the chunks asked for.

    For recordings: playing twenty seconds of an hour must not decrypt (or hold) the hour.
    Every chunk read is authenticated on its own: its nonce binds it to its position and to
    whether it is the last, and the header (object id, salt) is its associated data, so a
    swapped, reordered or altered chunk fails exactly as in `open_sealed`. `size` is the
    plaintext size the manifest recorded; the file must have exactly the matching length, so
    a truncated object is refused before anything is read.
    """

    def __init__(
        self,
        vault_key: bytes,
        purpose: str,
        file: BinaryIO,
        *,
        size: int,
        expected_id: bytes,
        what: str,
    ) -> None:
        super().__init__()
        self._file = file
        self._what = what
        file.seek(0)
        header = read_header(file.read(HEADER_SIZE), what)
        if header.object_id != expected_id:
            raise VaultCorrupted(
                f"{what} holds a different object than expected (files swapped?)."
            )
        self._header = header
        key = derive_object_key(vault_key, header.salt, purpose)
        self._aead = _ALGORITHMS[header.algorithm](key)
        self._size = size
        self._chunks = max(1, -(-size // header.chunk_size))
        file_size = file.seek(0, os.SEEK_END)
        if file_size != HEADER_SIZE + size + self._chunks * TAG_SIZE:
            raise VaultCorrupted(f"{what} is truncated or has the wrong length.")
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or not len(view):
            return 0
        index, within = divmod(self._pos, self._header.chunk_size)
        plain = self._chunk(index)
        n = min(len(view), len(plain) - within)
        view[:n] = plain[within : within + n]
        self._pos += n
        return n

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        size = self._header.chunk_size
        self._file.seek(HEADER_SIZE + index * (size + TAG_SIZE))
        last = index == self._chunks - 1
        length = (self._size - index * size if last else size) + TAG_SIZE
        piece = self._file.read(length)
        try:
            plain = self._aead.decrypt(
                _chunk_nonce(self._header.nonce_prefix, index, last), piece, self._header.raw
            )
        except InvalidTag:
            raise VaultCorrupted(
                f"{self._what} failed its integrity check (damaged, truncated or altered)."
            ) from None
        self._cached = (index, plain)
        return plain

    def close(self) -> None:
        if not self.closed:
            self._cached = None
            self._file.close()
        super().close()
