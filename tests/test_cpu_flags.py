"""llama.cpp build flags chosen by scripts/cpu_flags.py for the CPUs reflect runs on.

The flag sets are real /proc/cpuinfo "flags" lines (trimmed of flags ggml never looks at
only where noted), so a typo in a cpuinfo spelling shows up here rather than as a slow or
crashing build on someone's machine.
"""

from __future__ import annotations

import importlib.util
import platform
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "cpu_flags.py"


def _load_script() -> ModuleType:
    # scripts/ is not a package and must stay importable by a bare Python (setup.py runs it
    # before any venv exists), so load it by path rather than adding it to reflect.
    spec = importlib.util.spec_from_file_location("reflect_scripts_cpu_flags", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cpu_flags = _load_script()


def _flags(text: str) -> set[str]:
    return set(text.split())


# Intel Xeon Sapphire Rapids (4th gen Xeon Scalable): AVX-512, AVX-VNNI and AMX. The
# machine class where a native build SIGSEGVs.
SAPPHIRE_RAPIDS = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts "
    "acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art "
    "arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq "
    "pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid "
    "dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand "
    "lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cat_l2 cdp_l3 cdp_l2 ssbd mba ibrs "
    "ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust "
    "bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm rdt_a avx512f avx512dq rdseed adx smap "
    "avx512ifma clflushopt clwb intel_pt avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec "
    "xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local split_lock_detect "
    "avx_vnni avx512_bf16 wbnoinvd dtherm ida arat pln pts hfi vnmi avx512vbmi umip pku ospke "
    "waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme "
    "avx512_vpopcntdq la57 rdpid bus_lock_detect cldemote movdiri movdir64b enqcmd fsrm "
    "md_clear serialize tsxldtrk pconfig arch_lbr ibt amx_bf16 avx512_fp16 amx_tile amx_int8 "
    "flush_l1d arch_capabilities"
)

# AMD EPYC 7002 "Rome" (Zen 2): AVX2 only.
EPYC_ZEN2 = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
    "sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl "
    "nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 "
    "sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm "
    "extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext "
    "perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba "
    "ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 cqm rdt_a rdseed adx smap "
    "clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc "
    "cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin arat npt "
    "lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter "
    "pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip rdpid overflow_recov succor smca "
    "sme sev sev_es"
)

# AMD EPYC 7003 "Milan" (Zen 3): still AVX2 only, but with VAES/VPCLMULQDQ that only
# AVX-512 parts had before, so a sloppy "vaes means AVX-512" rule would break here.
EPYC_ZEN3 = EPYC_ZEN2 | _flags("invpcid pku ospke vaes vpclmulqdq erms fsrm")

# This development machine: AMD EPYC (family 25 model 17, Zen 4 "Genoa") under a hypervisor,
# AVX-512 with VBMI/VNNI/BF16 and no AMX. Copied from its /proc/cpuinfo.
EPYC_ZEN4 = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
    "sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl "
    "xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid "
    "sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand "
    "hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw "
    "topoext vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq "
    "rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt "
    "xsavec xgetbv1 xsaves avx512_bf16 clzero xsaveerptr arat avx512vbmi umip avx512_vbmi2 "
    "gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm"
)

# Intel Core i7-8565U (Whiskey Lake) laptop: AVX2, FMA, no AVX-VNNI, no AVX-512.
LAPTOP_AVX2 = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts "
    "acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art "
    "arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni "
    "pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 "
    "sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm "
    "3dnowprefetch cpuid_fault epb invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced "
    "tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 "
    "erms invpcid mpx rdseed adx smap clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves dtherm "
    "ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp md_clear flush_l1d "
    "arch_capabilities"
)

# Intel Core i7-1260P (Alder Lake) laptop: AVX-VNNI but AVX-512 fused off.
LAPTOP_ALDER_LAKE = LAPTOP_AVX2 - {"mpx"} | _flags(
    "avx_vnni gfni vaes vpclmulqdq rdpid movdiri movdir64b fsrm serialize pconfig ibt "
    "umip pku ospke waitpkg sha_ni"
)

# Intel Core i5-3320M (Ivy Bridge): AVX without AVX2, FMA or BMI2.
IVY_BRIDGE = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts "
    "acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx rdtscp lm constant_tsc arch_perfmon pebs "
    "bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor "
    "ds_cpl vmx smx est tm2 ssse3 cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic popcnt "
    "tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm cpuid_fault epb pti ssbd ibrs ibpb "
    "stibp tpr_shadow vnmi flexpriority ept vpid fsgsbase smep erms xsaveopt dtherm ida arat "
    "pln pts md_clear flush_l1d"
)

# Intel Xeon Phi 7250 (Knights Landing): AVX-512F/CD but none of VL/DQ/BW.
KNIGHTS_LANDING = _flags(
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts "
    "acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc "
    "arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni "
    "pclmulqdq dtes64 monitor ds_cpl est tm2 ssse3 fma cx16 xtpr pdcm sse4_1 sse4_2 x2apic "
    "movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch "
    "ring3mwait epb fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms avx512f rdseed adx "
    "avx512pf avx512er avx512cd xsaveopt dtherm ida arat pln pts"
)

X86_CPUS = {
    "sapphire_rapids": SAPPHIRE_RAPIDS,
    "epyc_zen2": EPYC_ZEN2,
    "epyc_zen3": EPYC_ZEN3,
    "epyc_zen4": EPYC_ZEN4,
    "laptop_avx2": LAPTOP_AVX2,
    "laptop_alder_lake": LAPTOP_ALDER_LAKE,
    "ivy_bridge": IVY_BRIDGE,
    "knights_landing": KNIGHTS_LANDING,
}

# Options that llama.cpp 0.3.36 turns ON by itself once GGML_NATIVE=OFF is given; each must
# be decided explicitly or an older CPU gets instructions it lacks.
DEFAULT_ON_WITHOUT_NATIVE = {
    "GGML_SSE42",
    "GGML_AVX",
    "GGML_AVX2",
    "GGML_BMI2",
    "GGML_FMA",
    "GGML_F16C",
}
AVX512_FAMILY = {"GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"}
AMX = {"GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"}


def options(flags: set[str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for arg in cpu_flags.llama_cmake_args(flags):
        assert arg.startswith("-D"), arg
        name, sep, value = arg[2:].partition("=")
        assert sep and value in {"ON", "OFF"}, arg
        assert name not in result, f"{name} given twice"
        result[name] = value
    return result


def on(opts: dict[str, str]) -> set[str]:
    return {name for name, value in opts.items() if value == "ON"}


@pytest.mark.parametrize("name", sorted(X86_CPUS))
def test_x86_never_native_never_amx_and_no_defaults_left(name: str) -> None:
    opts = options(X86_CPUS[name])
    assert opts["GGML_NATIVE"] == "OFF"
    assert {opts[o] for o in AMX} == {"OFF"}
    assert DEFAULT_ON_WITHOUT_NATIVE.issubset(opts)
    assert AVX512_FAMILY.issubset(opts)
    assert {opts[o] for o in ("GGML_CUDA", "GGML_VULKAN", "GGML_METAL", "GGML_BLAS")} == {"OFF"}


def test_sapphire_rapids_gets_all_avx512_and_avx_vnni_but_no_amx() -> None:
    assert on(options(SAPPHIRE_RAPIDS)) == DEFAULT_ON_WITHOUT_NATIVE | AVX512_FAMILY | {
        "GGML_AVX_VNNI"
    }


def test_epyc_zen4_gets_avx512_without_avx_vnni() -> None:
    # Zen 4 has AVX512-VNNI but not the VEX-encoded AVX-VNNI (that arrived with Zen 5).
    assert on(options(EPYC_ZEN4)) == DEFAULT_ON_WITHOUT_NATIVE | AVX512_FAMILY


@pytest.mark.parametrize(
    "flags", [EPYC_ZEN2, EPYC_ZEN3, LAPTOP_AVX2], ids=["zen2", "zen3", "laptop"]
)
def test_avx2_only_cpus_get_avx2_and_nothing_wider(flags: set[str]) -> None:
    assert on(options(flags)) == DEFAULT_ON_WITHOUT_NATIVE


def test_alder_lake_laptop_gets_avx_vnni_but_no_avx512() -> None:
    assert on(options(LAPTOP_ALDER_LAKE)) == DEFAULT_ON_WITHOUT_NATIVE | {"GGML_AVX_VNNI"}


def test_avx_only_cpu_gets_no_avx2_fma_or_bmi2() -> None:
    assert on(options(IVY_BRIDGE)) == {"GGML_SSE42", "GGML_AVX", "GGML_F16C"}


def test_partial_avx512_is_off() -> None:
    opts = options(KNIGHTS_LANDING)
    assert {opts[o] for o in AVX512_FAMILY} == {"OFF"}
    assert opts["GGML_AVX2"] == "ON"


@pytest.mark.parametrize("missing", sorted(cpu_flags._AVX512_BASE))
def test_avx512_needs_every_base_flag(missing: str) -> None:
    opts = options(SAPPHIRE_RAPIDS - {missing})
    assert {opts[o] for o in AVX512_FAMILY} == {"OFF"}


def test_x86_without_avx_still_not_native() -> None:
    # e.g. a Pentium/Celeron with SSE4.2 only, or a VM that masks AVX.
    opts = options(_flags("fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt lm"))
    assert opts["GGML_NATIVE"] == "OFF"
    assert on(opts) == {"GGML_SSE42"}


def test_unreadable_flags_leave_native_detection_but_amx_off() -> None:
    # ARM Linux / macOS: llama.cpp's own detection is right there; only AMX is pinned off.
    opts = options(set())
    assert "GGML_NATIVE" not in opts
    assert opts == dict.fromkeys(sorted(AMX), "OFF")


def test_read_cpu_flags_x86(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f\n"
        "bugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\nflags\t\t: fpu sse2\n"
    )
    assert cpu_flags.read_cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "avx512f"}


def test_read_cpu_flags_arm_and_missing(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes\n")
    assert cpu_flags.read_cpu_flags(cpuinfo) == set()
    assert cpu_flags.read_cpu_flags(tmp_path / "absent") == set()


def test_this_machine() -> None:
    opts = options(None)
    assert {opts[o] for o in AMX} == {"OFF"}
    if platform.machine() in {"x86_64", "AMD64"} and Path("/proc/cpuinfo").exists():
        assert opts["GGML_NATIVE"] == "OFF"
        live = cpu_flags.read_cpu_flags()
        if not cpu_flags._AVX512_BASE.issubset(live):
            assert {opts[o] for o in AVX512_FAMILY} == {"OFF"}
