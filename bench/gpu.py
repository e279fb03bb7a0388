"""`make bench-gpu`: the documents' full recipe on a GPU, through each notebook's own model code.

    python bench/gpu.py --out DIR [--frameworks torch,tensorflow,...] [--python FRAMEWORK=PATH ...]
    python bench/gpu.py --out DIR --cpu-smoke      # the same code path on the CPU, in seconds
    python bench/gpu.py --out DIR --devices all    # also the data-parallel path (d2l_compat.parallel) on every GPU

Every framework runs in a process of its own (its GPU environment's Python where one exists, see
GPU_VENV): the documents' recipe (lr 0.05, 10 epochs, batch 256, 96x96) on the notebook's ResNet-18,
then, for PyTorch, the same with `d2l.fast_mode(True)`. It writes gpu.json and gpu.md into DIR:
time per epoch, images/s, final loss, train and test accuracy, next to the documents' V100 figures,
and whether the targets were met. Needs only Python, NumPy and one framework: no Jupyter, no
matplotlib, no network; the data come from D2L_COMPAT_DATA (or the loader's usual places).

Exit status: 0 measured; 1 a framework's run failed (the others are still written); 2 bad arguments;
3 (EXIT_NO_GPU) no framework sees a GPU: one line says so and nothing is written.
"""
import argparse
import contextlib
import datetime
import importlib
import importlib.util
import io
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # d2l_compat and notebook_code, installed or not

FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
EXIT_FAILED, EXIT_NO_GPU = 1, 3
GPU_VENV = ".venv-gpu-{framework}"  # `make setup-gpu FRAMEWORK=...` puts each GPU build here
RECIPE = {"lr": 0.05, "num_epochs": 10, "batch_size": 256, "resize": 96}
SMOKE_RECIPE = {"lr": 0.05, "num_epochs": 1, "batch_size": 32, "resize": 32, "train_images": 64, "test_images": 64}
MODES = {"torch": ("recipe", "fast")}  # every framework runs "recipe"; PyTorch also its fast mode
MODE_NAMES = {"recipe": "documents' recipe", "fast": "fast mode (bfloat16, channels-last)"}
TARGETS = {"on": "one H100/H200", "recipe": {"images_per_sec": 15000, "test_acc": 0.89},
           "fast": {"images_per_sec": 40000, "test_acc": 0.89}}
# The documents' published runs, one NVIDIA V100 each: (loss, train acc, test acc, examples/sec, device printed).
DOCUMENTS_V100 = {"mxnet": (0.013, 0.996, 0.924, 4565.3, "gpu(0)"),
                  "torch": (0.012, 0.997, 0.893, 5032.7, "cuda:0"),
                  "tensorflow": (0.012, 0.997, 0.906, 5122.3, "/GPU:0"),
                  "paddle": (0.020, 0.996, 0.910, 4806.9, "Place(gpu:0)"),
                  "mindspore": (0.046, 0.998, 0.913, 4380.1, None)}
CPU_DEVICES = {"torch": lambda d2l: d2l.torch.device("cpu"), "tensorflow": lambda d2l: d2l.tf.device("/CPU:0"),
               "mxnet": lambda d2l: d2l.mx.cpu(), "paddle": lambda d2l: d2l.paddle.CPUPlace(),
               "mindspore": lambda d2l: "CPU"}


# ---- one framework, in its own process


def printed_name(d2l, framework, device):
    """The device name train_ch6 prints after 'examples/sec on'."""
    return d2l._device_name(device) if framework == "tensorflow" else str(device)


def loaders(d2l, framework, recipe):
    """(train_iter, test_iter) as load_data_fashion_mnist builds them; cut to the smoke recipe's size."""
    from d2l_compat.common.data import Batches, prepared_arrays
    from d2l_compat.common.presets import Preset
    cut = Preset("cpu-smoke", recipe["train_images"], recipe["test_images"], 1) if "train_images" in recipe else None
    train_x, train_y, test_x, test_y = prepared_arrays(recipe["resize"], cut)
    return (Batches(train_x, train_y, recipe["batch_size"], True, framework, d2l._to_batch),
            Batches(test_x, test_y, recipe["batch_size"], False, framework, d2l._to_batch))


def train_once(d2l, framework, mode, device, recipe, train_iter, test_iter):
    """Train a fresh notebook net with `recipe`; return what the run reached."""
    from notebook_code import build_namespace
    with contextlib.redirect_stdout(io.StringIO()):  # the notebook's shape walk
        net = build_namespace(framework)["net"]
    if mode == "fast":
        d2l.fast_mode(True)
    try:
        start = time.perf_counter()
        out = d2l.train(net, train_iter, test_iter, recipe["num_epochs"], recipe["lr"], device)
        wall = time.perf_counter() - start
    finally:
        if mode == "fast":
            d2l.fast_mode(False)
    s = out[1] if framework == "tensorflow" else out
    epochs = list(s.epoch_seconds)
    later = epochs[1:] or epochs  # the first epoch also pays for kernel selection and compilation
    return {"mode": mode, "device": s.device, "data_on_device": s.data_on_device, "epochs": s.epochs,
            "epoch_seconds": [round(e, 3) for e in epochs], "seconds_per_epoch": statistics.mean(epochs),
            "images_per_sec": s.examples_per_sec, "images_per_sec_after_epoch_1": train_iter.num_examples /
            statistics.median(later), "loss": s.loss, "train_acc": s.train_acc, "test_acc": s.test_acc,
            "training_seconds": s.seconds, "other_seconds": wall - s.seconds}


def worker(framework, smoke):
    """Measure one framework; return its result (a dict)."""
    os.environ.pop("D2L_COMPAT_SMOKE", None)  # the recipe itself, even when started from the tests
    if importlib.util.find_spec({"torch": "torch"}.get(framework, framework)) is None:
        return {"status": "not installed"}
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    module = sys.modules[{"torch": "torch"}.get(framework, framework)]
    gpu = d2l.try_gpu()
    result = {"version": getattr(module, "__version__", "?"), "gpu_seen": printed_name(d2l, framework, gpu)}
    if "cpu" in result["gpu_seen"].lower() and not smoke:
        return {**result, "status": "no GPU"}
    device = CPU_DEVICES[framework](d2l) if smoke else gpu
    recipe = SMOKE_RECIPE if smoke else RECIPE
    start = time.perf_counter()
    train_iter, test_iter = loaders(d2l, framework, recipe)
    result["load_seconds"] = time.perf_counter() - start  # read, check and resize all images once
    result["runs"] = [train_once(d2l, framework, mode, device, recipe, train_iter, test_iter)
                      for mode in MODES.get(framework, ("recipe",))]
    if framework == "torch" and not smoke:
        torch = d2l.torch
        result["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
        result["cudnn_tf32"] = torch.backends.cudnn.allow_tf32
    return {**result, "status": "measured"}


# ---- the check: one process per framework, then the report


def write_atomically(path, text):
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp") as f:
        f.write(text)
    os.replace(f.name, path)


def interpreter(framework, overrides):
    if framework in overrides:
        return overrides[framework]
    venv = ROOT / GPU_VENV.format(framework=framework) / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_worker(framework, python, smoke, timeout):
    """Run one framework's worker, echoing its output with a prefix; return its result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = pathlib.Path(tmp) / "result.json"
        command = [python, str(pathlib.Path(__file__).resolve()), "--worker", framework, "--result", str(result_path)]
        proc = subprocess.Popen(command + (["--cpu-smoke"] if smoke else []), cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []

        def echo():
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                print(f"[{framework}] {lines[-1]}", flush=True)
        reader = threading.Thread(target=echo, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            reader.join(5)
            return {"status": "failed", "error": f"did not finish within {timeout} s"}
        reader.join(5)
        if proc.returncode != 0 or not result_path.exists():
            last = next((line for line in reversed(lines) if line.strip()), "no output")
            return {"status": "failed", "error": f"exit status {proc.returncode}: {last.strip()}"}
        return json.loads(result_path.read_text(encoding="utf-8"))


def gpu_count():
    """How many GPUs the engines will see: CUDA_VISIBLE_DEVICES' list where it is set, else the driver's
    (0 without nvidia-smi)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip()]) if visible.strip() not in ("", "-1") else 0
    if shutil.which("nvidia-smi") is None:
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines()) if out.returncode == 0 else 0


def run_parallel(framework, python, smoke, timeout):
    """The notebook's net on every GPU through the framework's data-parallel engine (d2l_compat.parallel), the
    documents' recipe; on a CPU smoke run, 2 CPU workers on the smoke preset's 64 images."""
    from d2l_compat.parallel import ENGINES, launch
    count = 2 if smoke else gpu_count()
    if count < 1:
        return {"status": "no GPU"}
    if smoke:
        os.environ["D2L_COMPAT_SMOKE"] = "1"
    try:
        summary = launch.train(framework, count, device="cpu" if smoke else "gpu", recipe="book", timeout=timeout,
                               python=python, echo=lambda line: print(f"[{framework} ×{count}] {line}", end="", flush=True))
    except launch.ParallelTrainingError as err:
        return {"status": "failed", "workers": count, "error": str(err).splitlines()[0]}
    finally:
        if smoke:
            os.environ.pop("D2L_COMPAT_SMOKE", None)
    return {"status": "measured", "workers": count, "engine": ENGINES[framework].name, "device": summary.device,
            "images_per_sec": summary.examples_per_sec, "test_acc": summary.test_acc, "seconds": summary.seconds,
            "note": "one GPU on this machine: one worker" if count == 1 and not smoke else ""}


def gpu_model():
    """The GPU's name as the driver reports it, or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0].replace(", ", ", driver ") if out.returncode == 0 and out.stdout.strip() else None


def judged(run, smoke):
    """Whether `run` met its targets; None where they do not apply (a CPU smoke run)."""
    if smoke:
        return None
    goal = TARGETS[run["mode"]]
    return {"images_per_sec": run["images_per_sec"] >= goal["images_per_sec"], "test_acc": run["test_acc"] >= goal["test_acc"]}


def markdown(report):
    smoke = report["mode"] == "cpu-smoke"
    r = report["recipe"]
    lines = [f"# GPU check: lr {r['lr']}, {r['num_epochs']} epoch(s), batch {r['batch_size']}, "
             f"{r['resize']}×{r['resize']}", ""]
    if smoke:
        lines += [f"CPU smoke run ({r['train_images']} training and {r['test_images']} test images): it checks the "
                  "code path; its figures say nothing about a GPU.", ""]
    m = report["machine"]
    lines += [f"Measured {report['date']} on {m['gpu'] or 'no GPU'}; {m['cpu_count']} CPU cores, Python {m['python']}, "
              f"NumPy {m['numpy']}; whole check {report['total_seconds']:.0f} s (`bench/gpu.py`).", "",
              "| framework | run | device | data on device | s/epoch | img/s | img/s after epoch 1 | loss | train acc "
              "| test acc | documents (V100): img/s, loss, train acc, test acc |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, res in report["frameworks"].items():
        for run in res.get("runs", []):
            v = report["documents_v100"][name]
            lines.append(f"| {name} {res['version']} | {MODE_NAMES[run['mode']]} | {run['device']} | "
                         f"{'yes' if run['data_on_device'] else 'no'} | {run['seconds_per_epoch']:.2f} | "
                         f"{run['images_per_sec']:,.0f} | {run['images_per_sec_after_epoch_1']:,.0f} | {run['loss']:.3f} | "
                         f"{run['train_acc']:.3f} | {run['test_acc']:.3f} | "
                         f"{v['images_per_sec']:,.1f}, {v['loss']:.3f}, {v['train_acc']:.3f}, {v['test_acc']:.3f} |")
    lines += ["", f"Targets on {TARGETS['on']}: documents' recipe ≥ {TARGETS['recipe']['images_per_sec']:,} img/s, "
              f"fast mode ≥ {TARGETS['fast']['images_per_sec']:,} img/s, test accuracy ≥ {TARGETS['recipe']['test_acc']} "
              "both ways."]
    for name, res in report["frameworks"].items():
        for run in res.get("runs", []):
            met = run["targets_met"]
            verdict = "not judged (CPU smoke run)" if met is None else ", ".join(
                f"{what} {'met' if ok else 'NOT met'}" for what, ok in (("speed", met["images_per_sec"]),
                                                                      ("accuracy", met["test_acc"])))
            lines.append(f"- {name}, {MODE_NAMES[run['mode']]}: {verdict}.")
    if report.get("parallel"):
        lines += ["", "Data-parallel path (`--devices all`, `d2l_compat.parallel`, the documents' recipe):", ""]
        for name, res in report["parallel"].items():
            if res["status"] == "measured":
                lines.append(f"- {name}: {res['workers']} worker(s) of {res['engine']} on {res['device']}: "
                             f"{res['images_per_sec']:,.0f} img/s, test acc {res['test_acc']:.3f}"
                             + (f" ({res['note']})" if res["note"] else "") + ".")
            else:
                lines.append(f"- {name}: {res['status']}{': ' + res['error'] if 'error' in res else ''}.")
    others = [f"{name} ({res['status']}{': ' + res['error'] if 'error' in res else ''})"
              for name, res in report["frameworks"].items() if res["status"] != "measured"]
    if others:
        lines += ["", "Not measured: " + "; ".join(others) + "."]
    return "\n".join(lines) + "\n"


def check(args):
    smoke, start = args.cpu_smoke, time.perf_counter()
    overrides = dict(item.split("=", 1) for item in args.python)
    results = {fw: run_worker(fw, interpreter(fw, overrides), smoke, args.timeout) for fw in args.frameworks}
    if not smoke and not any(r["status"] in ("measured", "failed") for r in results.values()):
        seen = "; ".join(f"{fw}: {r.get('gpu_seen', r['status'])}" for fw, r in results.items())
        print(f"bench/gpu.py: no GPU found ({seen}); nothing measured. "
              f"Run it on a machine with an NVIDIA GPU, or use --cpu-smoke.")
        return EXIT_NO_GPU
    for res in results.values():
        for run in res.get("runs", []):
            run["targets_met"] = judged(run, smoke)
    parallel = {fw: run_parallel(fw, interpreter(fw, overrides), smoke, args.timeout) for fw in args.frameworks
                if results[fw]["status"] == "measured"} if args.devices == "all" else {}
    import numpy
    report = {"date": datetime.date.today().isoformat(), "mode": "cpu-smoke" if smoke else "gpu",
              "machine": {"gpu": gpu_model(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "numpy": numpy.__version__, "system": f"{platform.system()} {platform.release()}"},
              "recipe": SMOKE_RECIPE if smoke else RECIPE, "targets": TARGETS,
              "documents_v100": {fw: dict(zip(("loss", "train_acc", "test_acc", "images_per_sec", "device"), v))
                                 for fw, v in DOCUMENTS_V100.items()},
              "frameworks": results, "parallel": parallel, "total_seconds": time.perf_counter() - start}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "gpu.json", json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    write_atomically(out / "gpu.md", text)
    print(text)
    return EXIT_FAILED if any(r["status"] == "failed" for r in [*results.values(), *parallel.values()]) else 0


def framework_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FRAMEWORKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown framework(s) {unknown}: choose from {', '.join(FRAMEWORKS)}")
    return names


def python_override(text):
    framework, sep, path = text.partition("=")
    if not sep or framework not in FRAMEWORKS or not path:
        raise argparse.ArgumentTypeError(f"expected FRAMEWORK=PATH with FRAMEWORK one of {', '.join(FRAMEWORKS)}, got {text!r}")
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="folder for gpu.json and gpu.md (created if missing)")
    parser.add_argument("--frameworks", type=framework_list, default=list(FRAMEWORKS),
                        help="comma-separated, default: all five (those not installed are reported as such)")
    parser.add_argument("--python", type=python_override, action="append", default=[], metavar="FRAMEWORK=PATH",
                        help=f"the Python to run FRAMEWORK with (default: {GPU_VENV}/bin/python if present, else this one)")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help=f"{SMOKE_RECIPE['train_images']} training images, 1 epoch, on the CPU: checks the code path in seconds")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed to each framework (default 600)")
    parser.add_argument("--devices", choices=("1", "all"), default="1",
                        help="all: also train through each framework's data-parallel engine on every GPU (one worker "
                             "where there is one GPU; with --cpu-smoke, 2 CPU workers)")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.cpu_smoke)
        write_atomically(pathlib.Path(args.result), json.dumps(result))
        return 0
    if not args.out:
        parser.error("--out FOLDER is required (e.g. --out bench/results/gpu)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
