"""Facts about this computer's processor that the framework modules tune for."""
import os


def usable_cores():
    """The number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def amd_with_avx2(cpuinfo="/proc/cpuinfo"):
    """True on an AMD processor with AVX2, read from /proc/cpuinfo (False where it cannot be read)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    fields = {key.strip(): value.split() for key, value in fields.items()}
    return fields.get("vendor_id") == ["AuthenticAMD"] and "avx2" in fields.get("flags", [])
