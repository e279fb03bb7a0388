"""Check a computer before the lesson: `make doctor`, or `python -m d2l_compat.doctor [FRAMEWORK ...]`.

For every framework (installed or not): its version, whether it imports in a fresh process, the
GPUs it sees. Then the Fashion-MNIST files (where, checksums verified), the Jupyter kernel
"five-resnets", free disk and memory, and one line per problem with its fix. The exit status is 0
only when the notebooks can run: at least one framework imports, the data is verified and the
kernel is registered. No framework is imported here: each is tried in a subprocess of its own.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import FRAMEWORKS
from .common import fashion_mnist, memory
from .common.errors import DatasetCorruptError, DatasetNotFoundError

KERNEL = "five-resnets"  # the kernel `make setup` registers (Makefile: KERNEL)
IMPORT_TIMEOUT_S = 180
LOW_DISK_GB, LOW_MEMORY_GB = 2, 4
IMPORT_NAMES = {"torch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "paddle": "paddle",
                "mindspore": "mindspore"}
# The GPUs a framework sees, as an expression over the framework module `fw` (run in the probe).
GPU_NAMES = {
    "torch": "[fw.cuda.get_device_name(i) for i in range(fw.cuda.device_count())]",
    "tensorflow": "[fw.config.experimental.get_device_details(d).get('device_name', d.name)"
                  " for d in fw.config.list_physical_devices('GPU')]",
    "mxnet": "[f'GPU {i}' for i in range(fw.context.num_gpus())]",  # MXNet has no name for them
    "paddle": "[fw.device.cuda.get_device_name(i) for i in range(fw.device.cuda.device_count())]",
    "mindspore": "[f'GPU {i}' for i in range(fw.device_context.gpu.device_count())]"
                 " if fw.device_context.gpu.is_available() else []",
}
# Run as `python -c PROBE framework import_name gpu_expression`: is it installed (which version),
# does it import as a notebook imports it, which GPUs does it see.
PROBE = """
import importlib, importlib.metadata, importlib.util, json, sys, time
name, module, gpus = sys.argv[1:4]
def report(**found):
    print("\\n@doctor " + json.dumps(found), flush=True)
if importlib.util.find_spec(module) is None:
    report(installed=False)
    sys.exit()
dists = importlib.metadata.packages_distributions().get(module, [])
report(installed=True, version=importlib.metadata.version(dists[0]) if dists else "?")
start = time.perf_counter()
importlib.import_module("d2l_compat." + name)
fw = importlib.import_module(module)
report(installed=True, version=getattr(fw, "__version__", "?"), seconds=time.perf_counter() - start,
       gpus=[str(g) for g in eval(gpus)])
"""
SETUP_FIX = 'make setup FRAMEWORKS="{name}" (or pip install -e ".[{name}]")'


@dataclass
class Report:
    """What was found; `problems` holds (what is wrong, how to fix it) pairs."""
    lines: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    importable: list = field(default_factory=list)
    data_ok: bool = False
    kernel_ok: bool = False

    @property
    def ready(self):
        return bool(self.importable) and self.data_ok and self.kernel_ok

    def say(self, line):
        self.lines.append(line)
        print(line, flush=True)


def probe(name, python, timeout=IMPORT_TIMEOUT_S, import_names=IMPORT_NAMES):
    """Try framework `name` in a fresh `python`: (what the probe reported, error or None)."""
    command = [python, "-c", PROBE, name, import_names[name], GPU_NAMES[name]]
    found = {"installed": None}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired as timed_out:
        out, err = timed_out.stdout or "", f"did not finish importing within {timeout} s"
        out = out.decode() if isinstance(out, bytes) else out
    for line in out.splitlines():
        if line.startswith("@doctor "):
            found = json.loads(line[len("@doctor "):])
    if "seconds" in found or found["installed"] is False:
        return found, None
    last = [line for line in err.splitlines() if line.strip()] or [f"exit status {done.returncode}"]
    return found, last[-1].strip()[:300]


def check_frameworks(report, names, python, timeout=IMPORT_TIMEOUT_S, import_names=IMPORT_NAMES):
    report.say(f"Frameworks (each imported by {python} in a fresh process):")
    for name in names:
        found, error = probe(name, python, timeout, import_names)
        version = found.get("version", "?")
        if found["installed"] is False:
            report.say(f"  {name:<11} not installed")
            report.problems.append((f"{name} is not installed (its notebook cannot run)",
                                    SETUP_FIX.format(name=name)))
        elif error:
            report.say(f"  {name:<11} {version:<12} does NOT import: {error}")
            report.problems.append((f"{name} {version} does not import: {error}",
                                    f"reinstall it: {SETUP_FIX.format(name=name)}"))
        else:
            gpus = ", ".join(found["gpus"]) or "none, trains on the CPU"
            report.say(f"  {name:<11} {version:<12} imports in {found['seconds']:.1f} s; GPU: {gpus}")
            report.importable.append(name)


def check_data(report, notebook_dir):
    """Look for the data as a notebook in `notebook_dir` does, and verify every file's checksum."""
    report.say("Data:")
    here = os.getcwd()
    try:
        os.chdir(notebook_dir)  # the book's ../data folder is relative to the notebooks
        folder = fashion_mnist.find_data_dir()
        fashion_mnist.load_arrays(folder)
    except (DatasetNotFoundError, DatasetCorruptError) as err:
        first = str(err).splitlines()[0]
        report.say(f"  Fashion-MNIST NOT usable: {first}")
        fix = "run `make data` (or set D2L_COMPAT_DATA to the folder holding the four files)"
        if isinstance(err, DatasetCorruptError):
            fix = "delete the named file, then " + fix
        report.problems.append((f"Fashion-MNIST: {first}", fix))
        return
    finally:
        os.chdir(here)
    report.say(f"  Fashion-MNIST: 4 files, SHA-256 verified, in {(Path(notebook_dir) / folder).resolve()}")
    report.data_ok = True


def kernel_python(kernel):
    """(folder, interpreter) of the Jupyter kernel `kernel`, or None if it is not registered."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return None
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        return None
    return spec.resource_dir, spec.argv[0]


def check_kernel(report, kernel):
    report.say("Jupyter kernel:")
    found = kernel_python(kernel)
    fix = ("run `make setup`, or: python -m ipykernel install --sys-prefix "
           f'--name {kernel} --display-name "Python ({kernel})"')
    if found is None:
        report.say(f"  {kernel}: NOT registered")
        report.problems.append((f"the Jupyter kernel {kernel!r} is not registered", fix))
        return None
    folder, python = found
    if not shutil.which(python):
        report.say(f"  {kernel}: registered in {folder}, but its Python {python} does not exist")
        report.problems.append((f"the kernel {kernel!r} points to a missing Python {python}", fix))
        return None
    report.say(f"  {kernel}: registered in {folder} (Python: {python})")
    report.kernel_ok = True
    return python


def available_memory_gb():
    found = memory.available_bytes()
    return None if found is None else found / 2**30


def check_machine(report, folder):
    report.say("Machine:")
    disk = shutil.disk_usage(folder).free / 2**30
    memory = available_memory_gb()
    shown = "unknown" if memory is None else f"{memory:.1f} GB"
    report.say(f"  free disk {disk:.1f} GB; available memory {shown}; {os.cpu_count()} CPU cores")
    if disk < LOW_DISK_GB:
        report.problems.append((f"only {disk:.1f} GB of disk free", "free some space (the set-up needs a few GB)"))
    if memory is not None and memory < LOW_MEMORY_GB:
        report.problems.append((f"only {memory:.1f} GB of memory available",
                                "close other programs; in class use d2l.classroom_preset(True)"))


def examine(frameworks=FRAMEWORKS, kernel=KERNEL, notebook_dir=None, timeout=IMPORT_TIMEOUT_S,
            import_names=IMPORT_NAMES):
    """Run every check, printing as it goes; return the Report."""
    report = Report()
    notebook_dir = notebook_dir or (Path("notebooks") if Path("notebooks").is_dir() else Path("."))
    report.say(f"Five ResNets doctor: Python {sys.version.split()[0]} ({sys.executable})")
    python = check_kernel(report, kernel) or sys.executable
    check_frameworks(report, frameworks, python, timeout, import_names)
    check_data(report, notebook_dir)
    check_machine(report, notebook_dir)
    if report.problems:
        report.say(f"Problems ({len(report.problems)}):")
        for what, fix in report.problems:
            report.say(f"  - {what}\n    fix: {fix}")
    if report.ready:
        report.say(f"READY: the notebooks of {', '.join(report.importable)} can run. 一切就绪，可以上课。")
    else:
        missing = [what for what, ok in (("a framework that imports", report.importable),
                                         ("verified data", report.data_ok),
                                         (f"the kernel {kernel!r}", report.kernel_ok)) if not ok]
        report.say(f"NOT READY: missing {', '.join(missing)}. 还没准备好：请按上面的 fix 逐条解决。")
    return report


def main(argv):
    unknown = [name for name in argv if name not in FRAMEWORKS]
    if unknown:
        print(f"unknown framework {', '.join(unknown)}; choose from {' '.join(FRAMEWORKS)}", file=sys.stderr)
        return 2
    return 0 if examine(tuple(argv) or FRAMEWORKS).ready else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
