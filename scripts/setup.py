#!/usr/bin/env python3
"""Create or update `.venv/` with everything reflect needs, then get out of the way.

Run with any Python 3.11+; it only uses the standard library. A second run is a no-op
(under a second) unless pyproject.toml, this script or the CPU changed.

Why a script and not just `pip install -e .`:
- torch must be the CPU build (`torch==2.13.0` resolves to one here); installed first so
  sentence-transformers never pulls a multi-GB CUDA build.
- llama-cpp-python compiles llama.cpp; the right CPU flags depend on the machine (see
  scripts/cpu_flags.py). The built wheel is cached per (version, flags) so a fresh clone on
  the same machine does not compile again.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".reflect-setup"
LLAMA_VERSION = "0.3.36"
TORCH_VERSION = "2.13.0"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_flags import llama_cmake_args  # noqa: E402


def venv_python() -> Path:
    return VENV / "bin" / "python"


def run(*args: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=env)


def wheel_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reflect-build"


def desired_state(cmake_args: list[str]) -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "scripts/setup.py", "scripts/cpu_flags.py"):
        h.update((ROOT / name).read_bytes())
    h.update(" ".join(cmake_args).encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def install_llama(cmake_args: list[str]) -> None:
    py = str(venv_python())
    identity = [LLAMA_VERSION, *cmake_args, platform.python_version(), platform.machine()]
    key = hashlib.sha256("|".join(identity).encode()).hexdigest()[:16]
    wheel_dir = wheel_cache_dir() / f"llama-cpp-python-{LLAMA_VERSION}-{key}"
    wheels = sorted(wheel_dir.glob("llama_cpp_python-*.whl"))
    if not wheels:
        print(f"Building llama-cpp-python {LLAMA_VERSION} for this CPU (takes 4-7 minutes once)...")
        env = dict(os.environ)
        env["CMAKE_ARGS"] = " ".join(cmake_args)
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        tmp_dir = wheel_dir.parent / (wheel_dir.name + ".partial")
        shutil.rmtree(tmp_dir, ignore_errors=True)  # left by an interrupted build
        run(
            py,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-cache-dir",
            "-w",
            str(tmp_dir),
            f"llama-cpp-python=={LLAMA_VERSION}",
            env=env,
        )
        tmp_dir.rename(wheel_dir)
        wheels = sorted(wheel_dir.glob("llama_cpp_python-*.whl"))
    run(py, "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheels[-1]))


def main() -> int:
    # Run by whatever python3 the machine has, which may predate what pyproject requires.
    if sys.version_info < (3, 11):  # noqa: UP036
        print("reflect needs Python 3.11 or newer.", file=sys.stderr)
        return 1
    cmake_args = llama_cmake_args()
    state = desired_state(cmake_args)
    if STAMP.exists() and STAMP.read_text().strip() == state and venv_python().exists():
        return 0
    if not venv_python().exists():
        print("Creating .venv ...")
        venv.EnvBuilder(with_pip=True).create(VENV)
    py = str(venv_python())
    quiet = ["--quiet"] if os.environ.get("CI") else []
    run(py, "-m", "pip", "install", *quiet, "--upgrade", "pip", "setuptools", "wheel")
    run(py, "-m", "pip", "install", *quiet, f"torch=={TORCH_VERSION}")
    install_llama(cmake_args)
    run(py, "-m", "pip", "install", *quiet, "-e", f"{ROOT}[dev]")
    STAMP.write_text(state + "\n")
    print("reflect is set up in .venv/ (CLI: .venv/bin/reflect)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
