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

