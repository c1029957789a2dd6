"""Choose llama.cpp build flags from the CPU's own feature flags.

Why not `GGML_NATIVE=ON` (llama.cpp's default): on Intel machines with AMX a native build
crashes (SIGSEGV in decode for any prompt longer than one token). Switching each SIMD
extension on only when /proc/cpuinfo reports it gives the same speed without AMX, and a
laptop without AVX-512 gets a build that runs on it. Where the flags can't be read
(macOS, other architectures) llama.cpp's own defaults are used.

Checked against the llama.cpp vendored in llama-cpp-python 0.3.36
(ggml/CMakeLists.txt, ggml/src/ggml-cpu/CMakeLists.txt):
- With GGML_NATIVE=OFF given explicitly, SSE42, AVX, AVX2, BMI2, FMA and F16C all default
  to ON. Every one of them is therefore set explicitly here; leaving BMI2 to its default
  would build a library that dies with SIGILL on AVX-only CPUs (Sandy/Ivy Bridge).
- GGML_AVX512 adds -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw, so it needs all
  five. VBMI/VNNI/BF16 each add their own -m flag independently of GGML_AVX512; they are
  only used by the AVX-512 code paths, so they also require the base set.
- LLAMA_CURL is deprecated and ignored there (llama-cpp-python forces it OFF anyway), so
  it is not passed.
"""

from __future__ import annotations

from pathlib import Path

# ggml's GGML_AVX512 compiles with -mavx512f/cd/vl/dq/bw, so all five must be present.
_AVX512_BASE = frozenset({"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})

# (cpuinfo flags that must all be present, ggml option). Names are the Linux cpuinfo
# spellings, which are not uniform: "avx512vbmi" but "avx512_vnni" / "avx512_bf16".
_OPTIONS: list[tuple[frozenset[str], str]] = [
    (frozenset({"sse4_2"}), "GGML_SSE42"),
    (frozenset({"avx"}), "GGML_AVX"),
    (frozenset({"avx2"}), "GGML_AVX2"),
    (frozenset({"bmi2"}), "GGML_BMI2"),
    (frozenset({"fma"}), "GGML_FMA"),
    (frozenset({"f16c"}), "GGML_F16C"),
    # -mavxvnni implies AVX2 in GCC/Clang, so an AVX2-less report would be a lying hypervisor.
    (frozenset({"avx2", "avx_vnni"}), "GGML_AVX_VNNI"),
    (_AVX512_BASE, "GGML_AVX512"),
    (_AVX512_BASE | {"avx512vbmi"}, "GGML_AVX512_VBMI"),
    (_AVX512_BASE | {"avx512_vnni"}, "GGML_AVX512_VNNI"),
    (_AVX512_BASE | {"avx512_bf16"}, "GGML_AVX512_BF16"),
]

_AMX = ["GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"]

# Never on: AMX is what crashes, and BLAS/GPU backends are not wanted in a CPU-only build.
_ALWAYS_OFF = [*_AMX, "GGML_CUDA", "GGML_VULKAN", "GGML_METAL", "GGML_BLAS"]

# Every x86-64 CPU reports sse2; ARM's /proc/cpuinfo has "Features", not "flags", so no set.
_X86_MARKER = "sse2"


def read_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def llama_cmake_args(cpu_flags: set[str] | None = None) -> list[str]:
    flags = read_cpu_flags() if cpu_flags is None else cpu_flags
    if _X86_MARKER not in flags:
        # Not an x86 CPU we can read (ARM, macOS): llama.cpp's native detection is right there.
        return [f"-D{opt}=OFF" for opt in _AMX]
    args = ["-DGGML_NATIVE=OFF"]
    for required, option in _OPTIONS:
        args.append(f"-D{option}={'ON' if required <= flags else 'OFF'}")
    args += [f"-D{opt}=OFF" for opt in _ALWAYS_OFF]
    return args


if __name__ == "__main__":
    print(" ".join(llama_cmake_args()))
