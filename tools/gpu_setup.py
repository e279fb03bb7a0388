"""`make setup-gpu FRAMEWORK=<name>`: one environment per framework with its NVIDIA GPU build.

The frameworks' GPU builds bring clashing CUDA stacks, so each gets `.venv-gpu-<name>` of its own
and a Jupyter kernel "Python (five-resnets, <name> GPU)". Before anything is downloaded the machine
is checked against the build (nvidia-smi's GPUs, driver and compute capability; for MindSpore the
CUDA 11 libraries it links but does not ship), and a build that cannot work is refused with why.
Standard library only: it runs before any environment exists.
"""
import argparse
import glob
import os
import subprocess
import sys
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import setup_env  # noqa: E402  (the same lock, constraints and venv handling as `make setup`)

Gpu = namedtuple("Gpu", "name driver capability")  # driver (580, 65, 6); capability (9, 0) or None
# A GPU build: pip requirements, extra index, the CUDA it was built with, the compute capabilities
# its kernels cover (`ptx`: newer GPUs can JIT-compile it), libraries it needs from the system.
Build = namedtuple("Build", "requirements index cuda min_capability max_capability ptx system_libraries")

# Minimum Linux driver per CUDA major version, with CUDA's minor-version compatibility
# (NVIDIA, "CUDA Compatibility": 11.x >= 450.80.02, 12.x >= 525, 13.x >= 580).
MIN_DRIVER = {11: (450, 80, 2), 12: (525, 60, 13), 13: (580, 0, 0)}
PADDLE_INDEX = "https://www.paddlepaddle.org.cn/packages/stable/{}/"
TORCH_INDEX = "https://download.pytorch.org/whl/{}"

# Best first: the first build whose driver and GPU requirements the machine meets is installed.
BUILDS = {
    # `===`: exactly the PyPI build, never a local CPU wheel that `==2.13.0` would also match.
    "torch": [Build(("torch===2.13.0",), None, (13, 0), (7, 5), None, True, ()),
              Build(("torch==2.13.0+cu126",), TORCH_INDEX.format("cu126"), (12, 6), (5, 0), None, True, ())],
    "tensorflow": [Build(("tensorflow[and-cuda]==2.21.0",), None, (12, 5), (6, 0), None, True, ())],
    "paddle": [Build(("paddlepaddle-gpu==3.3.1",), PADDLE_INDEX.format(tag), cuda, (6, 0), None, True, ())
               for tag, cuda in (("cu126", (12, 6)), ("cu118", (11, 8)))],
    "mindspore": [Build(("mindspore==2.8.0",), None, (11, 6), (6, 0), (8, 6), True,
                        ("libcudart.so.11.0", "libcudnn.so.8", "libnvrtc.so.11.2"))],
    "mxnet": [Build((f"mxnet-{tag}==1.9.1",), None, cuda, (5, 0), (8, 6), False, ())
              for tag, cuda in (("cu117", (11, 7)), ("cu112", (11, 2)))],
}
NOTES = {
    "mindspore": "MindSpore 2.8's GPU plugin is built for CUDA 11.1/11.6 with cuDNN 8 and does not ship them",
    "mxnet": "MXNet 1.9.1's CUDA builds carry kernels for compute capability 5.0-8.6 and no PTX "
             "(an H100/H200 is 9.0); the project was retired to the Apache Attic in 2023",
}


class GpuSetupError(Exception):
    """This machine cannot run the requested GPU build; the message says why and what to do."""


def parse_nvidia_smi(text):
    """GPUs from `nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader`."""
    gpus = []
    for line in text.strip().splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 2:
            continue
        capability = tuple(int(x) for x in fields[2].split(".")) if len(fields) > 2 and fields[2][:1].isdigit() else None
        gpus.append(Gpu(fields[0], tuple(int(x) for x in fields[1].split(".")), capability))
    return gpus


def query_gpus(run=subprocess.run):
    """The machine's NVIDIA GPUs, or [] when there is no nvidia-smi or it finds none."""
    command = ["nvidia-smi", "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"]
    try:
        out = run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:  # drivers older than 510 know no compute_cap field
        out = run(command[:1] + ["--query-gpu=name,driver_version", "--format=csv,noheader"],
                  capture_output=True, text=True, timeout=30)
    return parse_nvidia_smi(out.stdout) if out.returncode == 0 else []


def find_library(name):
    """Whether a shared library such as 'libcudnn.so.8' is loadable: the linker's cache or LD_LIBRARY_PATH."""
    for folder in filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        if glob.glob(os.path.join(folder, name + "*")):
            return True
    try:
        listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    return f"{name} " in listed


def _v(numbers):
    return ".".join(map(str, numbers))


def why_not(build, gpu, has_library):
    """Why `build` cannot run on `gpu` (None when it can)."""
    need = MIN_DRIVER[build.cuda[0]]
    if gpu.driver < need:
        return (f"it is built with CUDA {_v(build.cuda)}, which needs NVIDIA driver {_v(need)} or newer; "
                f"this machine's driver is {_v(gpu.driver)}")
    if gpu.capability is not None and gpu.capability < build.min_capability:
        return (f"its kernels start at compute capability {_v(build.min_capability)}; the "
                f"{gpu.name} is {_v(gpu.capability)}")
    # A kernel built for X.y runs on X.z with z >= y; a newer major version needs PTX.
    if gpu.capability is not None and build.max_capability and gpu.capability[0] > build.max_capability[0] \
            and not build.ptx:
        return (f"its kernels stop at compute capability {_v(build.max_capability)} with no PTX to compile "
                f"for newer GPUs; the {gpu.name} is {_v(gpu.capability)}")
    missing = [name for name in build.system_libraries if not has_library(name)]
    if missing:
        return (f"it links {', '.join(missing)} (CUDA {build.cuda[0]} and cuDNN 8), which it does not ship and "
                "this machine lacks: install CUDA 11.6 and cuDNN 8 and put them on LD_LIBRARY_PATH")
    return None


def choose_build(framework, gpus, has_library=find_library):
    """The GPU build to install for `framework` on these GPUs (the first GPU decides), and warnings."""
    if framework not in BUILDS:
        raise GpuSetupError(f"unknown framework {framework!r}: choose from {' '.join(BUILDS)}")
    if not gpus:
        raise GpuSetupError("no NVIDIA GPU found (nvidia-smi is missing or lists none), so no GPU build can "
                            "work here; `make setup` installs the CPU builds")
    gpu, reasons = gpus[0], []
    for build in BUILDS[framework]:
        reason = why_not(build, gpu, has_library)
        if reason is None:
            warnings = []
            if gpu.capability and build.max_capability and gpu.capability[0] > build.max_capability[0]:
                warnings.append(f"the {gpu.name} (compute capability {_v(gpu.capability)}) is newer than this "
                                f"build's kernels ({_v(build.max_capability)}): it runs only through PTX "
                                "compiled at start-up, which nobody has verified")
            if gpu.capability is None:
                warnings.append("nvidia-smi does not report the compute capability (driver older than 510)")
            return build, warnings
        reasons.append(f"{build.requirements[0]}: {reason}")
    note = f" ({NOTES[framework]})" if framework in NOTES else ""
    raise GpuSetupError(f"{framework}'s GPU builds cannot run on this {gpu.name}{note}:\n  " + "\n  ".join(reasons))


def install(framework, venv, gpus, python=sys.executable):
    """Check, then create `venv` with the GPU build and the notebook tools, and register its kernel."""
    build, warnings = choose_build(framework, gpus)
    for warning in warnings:
        print(f"setup-gpu: warning: {warning}")
    print(f"setup-gpu: {gpus[0].name}, driver {_v(gpus[0].driver)}: installing {' '.join(build.requirements)}"
          + (f" from {build.index}" if build.index else "") + f" into {venv}", flush=True)
    python_in_venv = setup_env._ensure_venv(venv)
    lock_text = open(setup_env.LOCK).read()
    own = {setup_env.normalize(d) for d in setup_env.FRAMEWORKS[framework][0]}
    kept = "\n".join(line for line in setup_env._requirements(lock_text)
                     if setup_env.normalize(line.split("==")[0]) not in own)
    path = os.path.join(venv, "constraints.txt")
    setup_env._write(path, setup_env.constraints(sys.version_info[:2], kept))
    index = ["--extra-index-url", build.index] if build.index else []
    subprocess.run([python_in_venv, "-m", "pip", "install", "--quiet", "--only-binary=:all:", "--progress-bar", "off",
                    "-c", path, *index, *build.requirements, "-e", f"{ROOT}[notebook]", "pytest"], check=True)
    name = f"five-resnets-{framework}-gpu"
    subprocess.run([python_in_venv, "-m", "ipykernel", "install", "--user", "--name", name,
                    "--display-name", f"Python (five-resnets, {framework} GPU)"], check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", help=" | ".join(BUILDS))
    parser.add_argument("--venv", default=None, help="default: .venv-gpu-<framework> in the project")
    parser.add_argument("--check", action="store_true", help="only say whether the GPU build can work here")
    args = parser.parse_args(argv)
    gpus = query_gpus()
    try:
        if args.check:
            build, warnings = choose_build(args.framework, gpus)
            print(f"setup-gpu: {args.framework} can use {' '.join(build.requirements)} on the {gpus[0].name}"
                  + "".join(f"\nsetup-gpu: warning: {w}" for w in warnings))
        else:
            install(args.framework, args.venv or os.path.join(ROOT, f".venv-gpu-{args.framework}"), gpus)
    except (GpuSetupError, setup_env.SetupError) as err:
        sys.exit(f"make setup-gpu: {err}")
    except subprocess.CalledProcessError as err:
        sys.exit(f"make setup-gpu: `{' '.join(map(str, err.cmd[:6]))} ...` failed (exit {err.returncode}); see above.")


if __name__ == "__main__":
    main()
