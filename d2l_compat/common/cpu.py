"""Facts about this computer's processor that the framework modules tune for."""
import os


def usable_cores():
    """The number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def amd_with_avx2(cpuinfo="/proc/cpuinfo"):
    """True on an AMD processor with AVX2, read from /proc/cpuinfo (False where it cannot be read)."""
    fields = _cpuinfo_fields(cpuinfo)
    return fields.get("vendor_id") == "AuthenticAMD" and "avx2" in fields.get("flags", "").split()


# The vector extensions that decide which kernels oneDNN, MKL and Eigen run, as /proc/cpuinfo names them.
ISA_FLAGS = (("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))


def _cpuinfo_fields(cpuinfo):
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 16).split("\n\n")[0]  # the first processor's block
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, value in
            (line.split(":", 1) for line in head.splitlines() if ":" in line)}


# The thread counts that the five frameworks read (Paddle follows OMP_NUM_THREADS).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MXNET_CPU_WORKER_NTHREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_environment(n):
    """The environment variables that give every framework `n` threads."""
    return {name: str(n) for name in THREAD_VARIABLES}


def _total_gib(meminfo):
    from .memory import meminfo_bytes
    total = meminfo_bytes("MemTotal", meminfo)
    return None if total is None else round(total / 2**30, 1)


def describe(cpuinfo="/proc/cpuinfo", meminfo="/proc/meminfo"):
    """This machine as results files record it: CPU vendor, model name, family/model, vector ISA, cores, memory."""
    import platform
    fields = _cpuinfo_fields(cpuinfo)
    flags = set(fields.get("flags", "").split())
    return {"vendor": fields.get("vendor_id", platform.processor() or "unknown"),
            "model_name": fields.get("model name", platform.machine()),
            "family": fields.get("cpu family"), "model": fields.get("model"),
            "isa": [name for flag, name in ISA_FLAGS if flag in flags],
            "cores": usable_cores(), "memory_gib": _total_gib(meminfo),
            "system": f"{platform.system()} {platform.release()}"}


def summary(machine):
    """One line for a `describe()` record, e.g. 'AMD EPYC (family 25, model 17; AVX-512, AVX2), 2 cores, 23.4 GiB'."""
    if isinstance(machine, str):  # results written before the machine was recorded in full
        return machine
    where = ", ".join(x for x in (f"family {machine['family']}" if machine.get("family") else "",
                                  f"model {machine['model']}" if machine.get("model") else "") if x)
    isa = ", ".join(machine["isa"][:2]) or "no AVX"
    memory = f", {machine['memory_gib']} GiB" if machine.get("memory_gib") else ""
    return f"{machine['model_name']} ({where}{'; ' if where else ''}{isa}), {machine['cores']} cores{memory}"
