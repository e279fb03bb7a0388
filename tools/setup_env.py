"""Create or update a virtual environment holding a chosen set of frameworks (CPU builds), pinned.

`make setup FRAMEWORKS="torch paddle"` runs `python tools/setup_env.py install --venv .venv torch paddle`
with the Python the environment is made from. Everything is pinned by requirements/lock.txt, used
as pip constraints, so a subset installs exactly the versions of the five-framework environment.
`plan` runs the same pip command as a dry run and checks pip's report: no CUDA package is planned.
Standard library only: it runs before any environment exists.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK = os.path.join(ROOT, "requirements", "lock.txt")
LOCK_PYTHON = (3, 11)  # the Python requirements/lock.txt was resolved on

# framework: (its distributions, the Pythons `make setup` installs it on, why the range ends there)
FRAMEWORKS = {
    "torch": (("torch",), ((3, 11), (3, 13)), "PyTorch 2.13 has wheels for 3.10-3.14"),
    "tensorflow": (("tensorflow-cpu", "tensorflow"), ((3, 11), (3, 13)), "TensorFlow 2.21 has wheels for 3.10-3.13"),
    "mxnet": (("mxnet",), ((3, 11), (3, 12)), "MXNet 1.9.1 needs NumPy < 2, whose wheels stop at 3.12"),
    "paddle": (("paddlepaddle",), ((3, 11), (3, 13)), "PaddlePaddle 3.3.1 has wheels for 3.9-3.13"),
    "mindspore": (("mindspore",), ((3, 11), (3, 12)), "MindSpore 2.8.0 has wheels for 3.9-3.12"),
}
# Lock pins that have no wheel for a newer Python, and what replaces them there (file per Python).
OVERRIDES = os.path.join(ROOT, "requirements", "overrides-py{major}.{minor}.txt")
NUMPY2 = os.path.join(ROOT, "requirements", "numpy2.txt")  # for `install --numpy2`
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")
PIP_NETWORK = ["--timeout", "30", "--retries", "2"]
# Pure-Python packages published only as source: jieba (the book's Chinese search) has no wheel.
SOURCE_ONLY = ["--no-binary=jieba"]


class SetupError(Exception):
    """A request that cannot work here, with what to do instead."""


def normalize(name):
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def choose(names, python):
    """The frameworks to install, checked against this Python, in the canonical order."""
    wanted = set(FRAMEWORKS) if names in ([], ["all"]) else set(names)
    unknown = sorted(wanted - set(FRAMEWORKS))
    if unknown:
        raise SetupError(f"unknown framework {', '.join(unknown)}: choose from {' '.join(FRAMEWORKS)} (or all)")
    version = ".".join(map(str, python))
    if python < (3, 11):
        raise SetupError(f"make setup needs Python 3.11 or newer (this is {version}): the pinned tools "
                         "(IPython 9, SciPy 1.17, Keras 3.15) need 3.11. On 3.10 install into your own "
                         "environment without the lock: pip install -e \".[torch,test]\"")
    refused = []
    for name in FRAMEWORKS:
        low, high = FRAMEWORKS[name][1]
        if name in wanted and not low <= python <= high:
            refused.append(f"{name} ({FRAMEWORKS[name][2]}; set up here on "
                           f"{'.'.join(map(str, low))}-{'.'.join(map(str, high))})")
    if refused:
        raise SetupError(f"Python {version} cannot hold {'; '.join(refused)}. Use Python 3.11 "
                         "(make setup PYTHON=/path/to/python3.11), or leave it out of FRAMEWORKS")
    return [name for name in FRAMEWORKS if name in wanted]


def constraints(python, lock_text, overrides_text=None):
    """The lock as pip constraints for `python`: lines overridden for that Python replaced."""
    if overrides_text is None:
        path = OVERRIDES.format(major=python[0], minor=python[1])
        overrides_text = open(path).read() if python != LOCK_PYTHON and os.path.exists(path) else ""
    overrides_text = _merge(overrides_text)
    replaced = {_name(line) for line in _requirements(overrides_text)}
    kept = [line for line in _requirements(lock_text)
            if _name(line) not in replaced]
    return "\n".join(kept + _requirements(overrides_text)) + "\n"


def _name(requirement):
    """The normalized package name of a requirement line."""
    return normalize(re.split(r"[=<>!~ ;\[]", requirement, maxsplit=1)[0])


def _merge(text):
    """Later lines of an overrides text win over earlier ones for the same package."""
    last = {_name(line): line for line in _requirements(text)}
    return "\n".join(last.values())


def _requirements(text):
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def torch_pin(lock_text):
    """The torch requirement of the lock, e.g. 'torch==2.13.0'."""
    for line in _requirements(lock_text):
        if normalize(line.split("==")[0]) == "torch":
            return line
    raise SetupError("requirements/lock.txt pins no torch")


def reachable(url, timeout=10):
    """None if `url` answers, else why not (one short try: no retries against an unreachable index)."""
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except OSError as err:
        return str(getattr(err, "reason", err))


def torch_index_options(pip, lock_text, platform=sys.platform, probe_index=reachable):
    """Extra pip options so that the torch pin resolves to a CPU build.

    PyPI's Linux wheel of torch is a CUDA build (several GB of nvidia-* packages). Where pip already
    finds a CPU wheel without any index (a local wheel on find-links), nothing is added and no
    network is used for it; otherwise PyTorch's CPU index is added, whose `+cpu` version wins,
    after one quick check that it answers (pip would retry it for every package, then take CUDA).
    """
    if platform != "linux":
        return []  # PyPI's macOS and Windows wheels are CPU builds
    probe = subprocess.run(pip + ["install", "--dry-run", "--quiet", "--no-index", "--no-deps",
                                  "--ignore-installed", "--report", "-", torch_pin(lock_text)],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        found = [item["metadata"]["version"] for item in json.loads(probe.stdout)["install"]]
        if found and found[0].endswith("+cpu"):
            return []
    problem = probe_index(TORCH_CPU_INDEX + "torch/")
    if problem:
        raise SetupError(f"no CPU build of {torch_pin(lock_text)} is available: pip finds no local CPU wheel, "
                         f"and PyTorch's CPU index ({TORCH_CPU_INDEX}) does not answer ({problem}); PyPI's "
                         "Linux wheel is a CUDA build of several GB. Leave torch out of FRAMEWORKS, or put "
                         "a torch-2.13.0+cpu wheel where pip finds it (PIP_FIND_LINKS)")
    return ["--extra-index-url", TORCH_CPU_INDEX]


def pip_install_args(frameworks, constraints_path, torch_options, bare=False):
    """The arguments of `pip install` for these frameworks plus the test and notebook tools.

    `bare`: pytest instead of the tools (no Jupyter, matplotlib or IPython), as on a bare GPU machine.
    """
    extras = ",".join(list(frameworks) + ([] if bare else ["test"]))
    return (["install", "--only-binary=:all:", *SOURCE_ONLY, "--progress-bar", "off", *PIP_NETWORK, "-c", constraints_path,
             *torch_options, "-e", f"{ROOT}[{extras}]"] + (["pytest"] if bare else []))


def cuda_packages(report):
    """Names of the packages in a pip report that are CUDA builds or CUDA libraries."""
    found = []
    for item in report["install"]:
        name, version = normalize(item["metadata"]["name"]), item["metadata"]["version"]
        if name.startswith(CUDA_PREFIXES) or re.search(r"\+cu\d", version):
            found.append(f"{name}=={version}")
    return found


def _write(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def _venv_python(venv):
    return os.path.join(venv, "bin", "python")


def _ensure_venv(venv):
    """Create `venv` with this Python, or check that the existing one is this Python's version."""
    python = _venv_python(venv)
    if os.path.exists(python):
        theirs = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                                capture_output=True, text=True).stdout.split()
        if tuple(map(int, theirs or (0, 0))) != sys.version_info[:2]:
            raise SetupError(f"{venv} holds Python {'.'.join(theirs) or '?'}, not "
                             f"{sys.version_info[0]}.{sys.version_info[1]}: remove it (make clean) "
                             "or choose another folder with VENV=")
        return python
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    return python


def _pip_command(venv):
    python = _venv_python(venv)
    return [python if os.path.exists(python) else sys.executable, "-m", "pip"]


def _prepare(venv, names, numpy2=False):
    frameworks = choose(names, sys.version_info[:2])
    old_numpy = [name for name in frameworks if name in ("mxnet", "mindspore")]
    if numpy2 and old_numpy:
        raise SetupError(f"{' and '.join(old_numpy)} cannot use NumPy 2: leave out --numpy2")
    lock_text = open(LOCK).read()
    os.makedirs(venv, exist_ok=True)
    path = os.path.join(venv, "constraints.txt")
    python = sys.version_info[:2]
    overrides = OVERRIDES.format(major=python[0], minor=python[1])
    extra = [f for f in ([overrides] if python != LOCK_PYTHON else []) + ([NUMPY2] if numpy2 else [])
             if os.path.exists(f)]
    _write(path, constraints(python, lock_text, "\n".join(open(f).read() for f in extra)))
    return frameworks, lock_text, path


def install(venv, names, bare=False, numpy2=False):
    """Install exactly `names` (CPU builds) into `venv`, and remove the other frameworks."""
    python = _ensure_venv(venv)
    frameworks, lock_text, path = _prepare(venv, names, numpy2)
    pip = [python, "-m", "pip"]
    options = torch_index_options(pip, lock_text) if "torch" in frameworks else []
    print(f"setup: {' '.join(frameworks)} into {venv} (Python {sys.version_info[0]}.{sys.version_info[1]}, "
          f"pinned by {os.path.relpath(path, ROOT)})", flush=True)
    subprocess.run(pip + ["--quiet"] + pip_install_args(frameworks, path, options, bare), check=True)
    others = [dist for name, (dists, _, _) in FRAMEWORKS.items() if name not in frameworks for dist in dists]
    present = subprocess.run([python, "-c", "import importlib.metadata as m, sys\nfor d in sys.argv[1:]:\n"
                              "    try: m.version(d); print(d)\n    except m.PackageNotFoundError: pass",
                              *others], capture_output=True, text=True, check=True).stdout.split()
    if present:
        print(f"setup: removing {' '.join(present)} (not in FRAMEWORKS)", flush=True)
        subprocess.run(pip + ["uninstall", "--quiet", "--yes", *present], check=True)


def plan(venv, names, report_path):
    """Dry-run the install `install` would do; fail if pip plans any CUDA package."""
    frameworks, lock_text, path = _prepare(venv, names)
    pip = _pip_command(venv)
    options = torch_index_options(pip, lock_text) if "torch" in frameworks else []
    args = pip_install_args(frameworks, path, options)
    # fast-deps: wheels' metadata through HTTP range requests (the pip of Python 3.11's venv otherwise
    # downloads whole wheels, a GB for MindSpore and PaddlePaddle); it falls back where ranges are refused.
    subprocess.run(pip + ["--quiet"] + args[:1] + ["--dry-run", "--ignore-installed", "--report", report_path,
                                                   "--use-feature=fast-deps"] + args[1:], check=True)
    with open(report_path) as handle:
        report = json.load(handle)
    cuda = cuda_packages(report)
    torch = [f"{item['metadata']['version']} from {os.path.basename(item['download_info']['url'])}"
             for item in report["install"] if normalize(item["metadata"]["name"]) == "torch"]
    print(f"pip's plan for {' '.join(frameworks)} + test tools: {len(report['install'])} packages"
          + (f"; torch {torch[0]}" if torch else "") + f" (report: {os.path.relpath(report_path, ROOT)})")
    if cuda:
        raise SetupError(f"the CPU set-up would download CUDA packages: {', '.join(cuda)}")
    print("no nvidia-*, cuda-* or triton package and no +cu build planned: a CPU-only set-up")


def find_python(version, path=None):
    """An interpreter of `version` ('3.13'): pythonX.Y on the PATH if it runs, else one of pyenv's."""
    candidates = [f"python{version}"]
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True) if _which("pyenv") else None
    if pyenv and pyenv.returncode == 0:
        versions = os.path.join(pyenv.stdout.strip(), "versions")
        candidates += sorted((os.path.join(versions, v, "bin", f"python{version}")
                              for v in os.listdir(versions) if v.startswith(version + ".")), reverse=True)
    for candidate in candidates:
        try:
            found = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"],
                                   capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if found.returncode == 0:
            return found.stdout.strip()
    raise SetupError(f"no Python {version} found (looked for python{version} on the PATH and in pyenv); "
                     f"install it, e.g. `pyenv install {version}`")


def _which(program):
    return any(os.access(os.path.join(d, program), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("install", "plan", "find-python"))
    parser.add_argument("frameworks", nargs="*", help="framework names, or 'all' (the default); "
                        "for find-python, the version")
    parser.add_argument("--venv", default=os.path.join(ROOT, ".venv"))
    parser.add_argument("--report", default=None, help="where `plan` writes pip's report")
    parser.add_argument("--bare", action="store_true", help="pytest only: no Jupyter, matplotlib or IPython")
    parser.add_argument("--numpy2", action="store_true", help="NumPy 2 instead of the lock's NumPy 1.26")
    args = parser.parse_intermixed_args(argv)
    try:
        if args.command == "install":
            install(args.venv, args.frameworks, args.bare, args.numpy2)
        elif args.command == "find-python":
            print(find_python(args.frameworks[0] if args.frameworks else "3.13"))
        else:
            plan(args.venv, args.frameworks, args.report or os.path.join(args.venv, "cpu-plan.json"))
    except SetupError as err:
        sys.exit(f"make setup: {err}.")
    except subprocess.CalledProcessError as err:
        sys.exit(f"make setup: `{' '.join(map(str, err.cmd[:6]))} ...` failed (exit {err.returncode}); see above.")


if __name__ == "__main__":
    main()
