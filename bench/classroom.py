"""Measure the classroom preset: each framework trains its notebook's ResNet-18 with
`d2l.classroom_preset(True)` and the notebook's own training call, in a process of its own.

    python bench/classroom.py [FRAMEWORK ...]      (`make bench-classroom`; about half an hour on 2 cores)

Writes bench/results/classroom.json and classroom.md.
"""
import contextlib
import datetime
import importlib
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")


def run_one(framework):
    os.environ.pop("D2L_COMPAT_SMOKE", None)
    sys.path.insert(0, str(ROOT / "tests"))
    from notebook_code import build_namespace
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    with contextlib.redirect_stdout(io.StringIO()):
        net = build_namespace(framework)["net"]
    d2l.classroom_preset(True)
    lr, num_epochs, batch_size = 0.05, 10, 256  # the notebook's recipe; the preset overrides it
    start = time.perf_counter()
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, resize=96)
    result = d2l.train(net, train_iter, test_iter, num_epochs, lr, d2l.try_gpu())
    summary = result[1] if isinstance(result, tuple) else result
    return {"framework": framework, "epochs": summary.epochs, "test_acc": summary.test_acc, "train_acc": summary.train_acc,
            "training_seconds": summary.seconds, "wall_seconds": time.perf_counter() - start,
            "examples_per_sec": summary.examples_per_sec}


def main(frameworks):
    from d2l_compat.common.presets import CLASSROOM
    results = []
    for fw in frameworks:
        if importlib.util.find_spec(fw) is None:
            continue
        print(f"classroom preset: {fw} ...", flush=True)
        out = subprocess.run([sys.executable, __file__, "--one", fw], capture_output=True, text=True)
        lines = out.stdout.strip().splitlines()
        results.append(json.loads(lines[-1]) if out.returncode == 0 else
                       {"framework": fw, "error": out.stderr.strip().splitlines()[-1:]})
        print("\n".join(lines[-3:]), flush=True)
    when = datetime.date.today().isoformat()
    extra = ", ".join(f"{n} for {fw}" for fw, n in CLASSROOM.epochs_by_framework)
    rows = [f"Classroom preset ({CLASSROOM.train_size} training images at 28×28, {CLASSROOM.num_epochs} epoch ({extra}), "
            f"batch {CLASSROOM.batch_size}, lr 0.05, tested on {CLASSROOM.test_size}), measured {when} "
            "by `make bench-classroom`; target: ≥ 0.85 test accuracy within 5 minutes of training.", "",
            "| framework | test acc | train acc | training time | whole cell (load + train + test) | met |",
            "|---|---:|---:|---:|---:|---|"]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['framework']} | failed: {' '.join(r['error'])} | | | | no |")
            continue
        met = "yes" if r["test_acc"] >= 0.85 and r["training_seconds"] <= 300 else "no"
        rows.append(f"| {r['framework']} | {r['test_acc']:.3f} | {r['train_acc']:.3f} | "
                    f"{r['training_seconds'] / 60:.1f} min | {r['wall_seconds'] / 60:.1f} min | {met} |")
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "classroom.json").write_text(json.dumps(results, indent=1))
    (results_dir / "classroom.md").write_text("\n".join(rows) + "\n")
    sys.path.insert(0, str(ROOT / "bench"))
    from run import CLASSROOM_MARKERS, update_readme
    update_readme("\n".join(rows), CLASSROOM_MARKERS)
    print("\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        with contextlib.redirect_stdout(sys.stderr):
            outcome = run_one(sys.argv[2])
        print(json.dumps(outcome))
    else:
        main(sys.argv[1:] or FRAMEWORKS)
