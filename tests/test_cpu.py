"""d2l_compat.common.cpu: what the framework modules read about the processor."""
from d2l_compat.common import cpu

CPUINFO = """processor\t: {n}
vendor_id\t: {vendor}
model name\t: {model}
flags\t\t: fpu sse sse2 {extra} avx
"""


def write(tmp_path, vendor, extra, model="A CPU"):
    path = tmp_path / "cpuinfo"
    path.write_text("\n".join(CPUINFO.format(n=n, vendor=vendor, model=model, extra=extra) for n in range(2)))
    return str(path)


def test_amd_with_avx2_is_recognised(tmp_path):
    assert cpu.amd_with_avx2(write(tmp_path, "AuthenticAMD", "avx2 fma", "AMD EPYC"))


def test_intel_and_old_amd_are_not(tmp_path):
    assert not cpu.amd_with_avx2(write(tmp_path, "GenuineIntel", "avx2 fma"))
    assert not cpu.amd_with_avx2(write(tmp_path, "AuthenticAMD", "fma"))
    assert not cpu.amd_with_avx2(str(tmp_path / "missing"))



def test_describe_records_the_family_model_and_vector_unit(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
                    "flags\t\t: fpu sse4_2 avx avx2 fma\n\nvendor_id\t: AuthenticAMD\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24700000 kB\nMemAvailable:   20000000 kB\n")
    found = cpu.describe(str(path), str(meminfo))
    assert (found["family"], found["model"], found["isa"]) == ("25", "1", ["AVX2", "AVX", "SSE4.2"])
    assert found["memory_gib"] == 23.6
    assert cpu.summary(found).startswith("AMD EPYC (family 25, model 1; AVX2, AVX), ")
    assert cpu.summary("AMD EPYC, 2 cores") == "AMD EPYC, 2 cores"  # results recorded before


def test_thread_environment_names_every_frameworks_variable():
    assert cpu.thread_environment(2) == {name: "2" for name in cpu.THREAD_VARIABLES}
