"""`make bench-classroom`: the classroom preset, measured as a learner runs it.

    python bench/classroom.py [--framework NAME ...] [--runs N]
    python bench/classroom.py --minutes 4 [--framework NAME ...] [--runs N]   # the time budget
    python bench/classroom.py --framework torch --runs 1 --images 6400 --out /tmp/try   # a short trial

Without --minutes it measures the fixed recipe, `classroom_preset(True, images=CLASSROOM_IMAGES)`,
for comparable figures across machines. With --minutes it measures the notebooks' classroom switch,
the time budget (`classroom_preset(True, minutes=M)`): how many images this machine trains in M
minutes, in which mode, to what accuracy, and how long the whole cell takes (it should end within
M + 1 minutes); into classroom-budget.json and .md and the README's table between the
classroom-budget markers. Every record names the machine (CPU family, model and ISA).

Each run is a process of its own: the notebook's own model code, the classroom preset and the
notebook's training call (`load_data_fashion_mnist(256, resize=96)`, `train_ch6(..., 10, 0.05, ...)`),
which the preset turns into its recipe. Run k seeds the shuffle and the framework's initialisation
with k, so the runs differ. For the curve, the test accuracy on all 10,000 test images is also
measured at each fifth of the run (except the one just before the end, where the final test follows);
those evaluations are counted neither in the training time nor in the whole cell's time (loading,
training and the final test), which are what a learner waits for.

Writes into bench/results/: classroom.json (the contract's schema; a framework that is run replaces
only its own entry, so one framework can be measured again alone), classroom.md, one curve
classroom-FRAMEWORK.png per framework, and the README's table between the classroom markers.
With --images (a trial with another image count) nothing is written there, only into --out.
"""
import argparse
import contextlib
import dataclasses
import datetime
import importlib
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from d2l_compat.common.cpu import summary as machine_line  # imports no framework

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
TARGET = {"test_acc": 0.85, "training_seconds": 300}
NOTEBOOK_CALL = {"lr": 0.05, "num_epochs": 10, "batch_size": 256, "resize": 96}  # the training cell's values
SEEDERS = {"torch": ("torch", "manual_seed"), "tensorflow": ("keras.utils", "set_random_seed"),
           "mxnet": ("mxnet.random", "seed"), "paddle": ("paddle", "seed"), "mindspore": ("mindspore", "set_seed")}


def run_one(framework, seed, images=None, minutes=None):
    """Train once in this process as the notebook does; return the run's record (the contract's)."""
    start = time.perf_counter()
    os.environ.pop("D2L_COMPAT_SMOKE", None)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from d2l_compat.common import presets
    from notebook_code import build_namespace
    if images is not None:
        presets.CLASSROOM = dataclasses.replace(presets.CLASSROOM, train_size=images)
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    module, name = SEEDERS[framework]
    getattr(importlib.import_module(module), name)(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        net = build_namespace(framework)["net"]
    if minutes is not None:
        return run_budget(d2l, net, seed, minutes, start)
    d2l.classroom_preset(True, images=presets.CLASSROOM.train_size)
    train_iter, test_iter = d2l.load_data_fashion_mnist(NOTEBOOK_CALL["batch_size"], resize=NOTEBOOK_CALL["resize"])
    train_iter.rng = np.random.default_rng(seed)

    curve, evaluation_seconds = [], 0.0
    total = presets.CLASSROOM.train_size * presets.CLASSROOM.num_epochs

    def fit_with_curve(step, evaluate, device_name, train_iter, test_iter, num_epochs, **options):
        def on_progress(seconds, examples, train_loss, train_acc):
            nonlocal evaluation_seconds
            began = time.perf_counter()
            near_end = examples > 0.9 * total  # the final test's reading follows (filled in below)
            test_acc = None if near_end else evaluate(test_iter)
            evaluation_seconds += time.perf_counter() - began
            curve.append([seconds / 60, train_loss, train_acc, test_acc])
        return fit(step, evaluate, device_name, train_iter, test_iter, num_epochs, on_progress=on_progress, **options)

    fit, d2l.fit = d2l.fit, fit_with_curve
    result = d2l.train(net, train_iter, test_iter, NOTEBOOK_CALL["num_epochs"], NOTEBOOK_CALL["lr"], d2l.try_gpu())
    summary = result[1] if isinstance(result, tuple) else result
    curve[-1][3] = summary.test_acc
    return {"seed": seed, "test_acc": summary.test_acc, "train_acc": summary.train_acc,
            "training_seconds": summary.seconds,
            "wall_seconds": time.perf_counter() - start - evaluation_seconds, "curve": curve}


def run_budget(d2l, net, seed, minutes, start):
    """One run of the time-budget preset, timed as the learner waits for it (no evaluation in between)."""
    d2l.classroom_preset(True, minutes=minutes)
    train_iter, test_iter = d2l.load_data_fashion_mnist(NOTEBOOK_CALL["batch_size"], resize=NOTEBOOK_CALL["resize"])
    train_iter.rng = np.random.default_rng(seed)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = d2l.train(net, train_iter, test_iter, NOTEBOOK_CALL["num_epochs"], NOTEBOOK_CALL["lr"], d2l.try_gpu())
    sys.stdout.write(printed.getvalue())
    summary = result[1] if isinstance(result, tuple) else result
    lines = printed.getvalue().splitlines()
    return {"seed": seed, "test_acc": summary.test_acc, "train_acc": summary.train_acc,
            "train_images": round(summary.examples_per_sec * summary.seconds), "mode": summary.mode,
            "mode_line": next((line for line in lines if line.startswith("执行模式")), ""),
            "plan_line": next((line for line in lines if line.startswith("本机每秒")), ""),
            "training_seconds": summary.seconds, "wall_seconds": time.perf_counter() - start}


def budget_table(data):
    """The Markdown summary of the time-budget runs (classroom-budget.md and the README)."""
    m, t = data["minutes"], data["target"]
    lines = [f"Time-budget classroom preset (the notebooks' `d2l.classroom_preset(True)`): {m:g} minutes of training, "
             f"the image count set by the speed measured on the first batches, the fastest mode kept. Measured "
             f"{data['date']} on {machine_line(data['machine'])} by `make bench-classroom-budget`; targets: the whole "
             f"cell (loading, training, final test) within {t['cell_seconds'] / 60:g} minutes, test accuracy ≥ "
             f"{t['test_acc']}.", "",
             "| framework | runs | mode kept | training images | test acc (min–max) | training (max) | whole cell (max) | cell within limit | accuracy target |",
             "|---|---:|---|---:|---:|---:|---:|---|---|"]
    for fw in [f for f in FRAMEWORKS if f in data["frameworks"]]:
        runs = data["frameworks"][fw]["runs"]
        accs, images = [r["test_acc"] for r in runs], [r["train_images"] for r in runs]
        modes = ", ".join(sorted({r["mode"] or "(one mode)" for r in runs}))
        wall = max(r["wall_seconds"] for r in runs)
        lines.append(f"| {fw} | {len(runs)} | {modes} | {_span(images, '{:,}')} | {_span(accs, '{:.3f}')} | "
                     f"{max(r['training_seconds'] for r in runs) / 60:.1f} min | {wall / 60:.1f} min | "
                     f"{'yes' if wall <= t['cell_seconds'] else 'no'} | {'yes' if min(accs) >= t['test_acc'] else 'no'} |")
    return "\n".join(lines)


def _span(values, form):
    low, high = form.format(min(values)), form.format(max(values))
    return low if low == high else f"{low}–{high}"


def summarize(runs, framework, target=TARGET):
    """One framework's entry of classroom.json from its runs."""
    min_acc = min(r["test_acc"] for r in runs)
    max_seconds = max(r["training_seconds"] for r in runs)
    return {"runs": runs, "min_test_acc": min_acc, "max_training_seconds": max_seconds,
            "met": min_acc >= target["test_acc"] and max_seconds <= target["training_seconds"],
            "curve_png": f"bench/results/classroom-{framework}.png"}


def within_target(runs, target=TARGET):
    """From the curves: the worst run's best test accuracy within the time limit, and the slowest
    run's training minutes until the target accuracy (None if a run never reached it)."""
    limit, goal = target["training_seconds"] / 60, target["test_acc"]
    best = min(max((p[3] for p in r["curve"] if p[3] is not None and p[0] <= limit), default=0.0) for r in runs)
    reached = [next((p[0] for p in r["curve"] if p[3] is not None and p[3] >= goal), None) for r in runs]
    return best, (None if None in reached else max(reached))


def preset_record(steps_per_pass):
    """The contract's `preset` block, from the classroom preset itself."""
    from d2l_compat.common import presets, schedule
    preset = presets.CLASSROOM
    plan = schedule.Plan(NOTEBOOK_CALL["lr"], steps_per_pass * preset.num_epochs, preset.cycle)
    optimizer, _, schedule_text = plan.describe().partition(", ")
    return {"train_images": preset.train_size, "image_size": 28, "batch_size": preset.batch_size,
            "test_images": preset.test_size, "optimizer": optimizer, "schedule": schedule_text,
            "description_zh": presets.describe_zh(preset, NOTEBOOK_CALL["lr"])}


def merge(old, frameworks, date, machine, preset):
    """classroom.json's new content: the frameworks just run replace their entries, the others stay."""
    kept = old.get("frameworks", {}) if isinstance(old, dict) and old.get("preset") == preset else {}
    return {"date": date, "machine": machine, "preset": preset, "target": dict(TARGET),
            "frameworks": {**kept, **frameworks}}


def table(data):
    """The Markdown summary (classroom.md and the README's classroom section)."""
    p, t = data["preset"], data["target"]
    lines = [f"Classroom preset: {p['train_images']:,} training images at {p['image_size']}×{p['image_size']}, "
             f"one pass in batches of {p['batch_size']}, {p['optimizer']}, {p['schedule']}; tested on all "
             f"{p['test_images']:,} test images. Measured {data['date']} on {machine_line(data['machine'])} by "
             f"`make bench-classroom`; target: test accuracy ≥ {t['test_acc']} within "
             f"{t['training_seconds'] / 60:g} minutes of training, in every run.", "",
             "| framework | runs | test acc (min–max) | training time (max) | whole cell (max) | target met |",
             "|---|---:|---:|---:|---:|---|"]
    for fw in [f for f in FRAMEWORKS if f in data["frameworks"]]:
        entry = data["frameworks"][fw]
        runs = entry["runs"]
        accs = [r["test_acc"] for r in runs]
        met = "yes" if entry["met"] else "no"
        if not entry["met"]:
            best, minutes = within_target(runs, t)
            met += (f": best within {t['training_seconds'] / 60:g} min {best:.3f}; "
                    + (f"{t['test_acc']} after {minutes:.1f} min" if minutes is not None
                       else f"{t['test_acc']} not reached in every run"))
        lines.append(f"| {fw} | {len(runs)} | {min(accs):.3f}–{max(accs):.3f} | "
                     f"{entry['max_training_seconds'] / 60:.1f} min | "
                     f"{max(r['wall_seconds'] for r in runs) / 60:.1f} min | {met} |")
    lines += ["", "Training curves (loss, train and test accuracy against minutes of training; one line per run):", "",
              " ".join(f'<img src="{data["frameworks"][fw]["curve_png"]}" width="19%" alt="{fw}">'
                       for fw in FRAMEWORKS if fw in data["frameworks"])]
    return "\n".join(lines)


def plot(framework, entry, path, target=TARGET):
    """One framework's curves: loss, train and test accuracy of every run against training minutes."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from d2l_compat.common import fonts
    with matplotlib.rc_context(fonts.rc()):  # the labels are Chinese, as the notebooks that show them
        fig = _draw_curves(Figure(figsize=(4.2, 3.0)), framework, entry, target, fonts.chinese)
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=100, metadata={"Software": None})
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


FIGURE_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "paddle": "飞桨", "mindspore": "MindSpore"}


def _draw_curves(fig, framework, entry, target, chinese):
    ax = fig.subplots()
    for k, run in enumerate(entry["runs"]):
        minutes = [p[0] for p in run["curve"]]
        tested = [(p[0], p[3]) for p in run["curve"] if p[3] is not None]
        labels = chinese(("训练损失", "训练精度", "测试精度"), ("train loss", "train acc", "test acc")) if k == 0 \
            else (None, None, None)
        ax.plot(minutes, [p[1] for p in run["curve"]], "-", color="C0", alpha=0.8, label=labels[0])
        ax.plot(minutes, [p[2] for p in run["curve"]], "--", color="C3", alpha=0.8, label=labels[1])
        ax.plot(*zip(*tested), "-.o", color="C2", markersize=3, alpha=0.8, label=labels[2])
    ax.axhline(target["test_acc"], color="grey", linestyle=":", linewidth=1)
    ax.axvline(target["training_seconds"] / 60, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, max(target["training_seconds"] / 60, max(r["curve"][-1][0] for r in entry["runs"])) * 1.02)
    highest_loss = max(p[1] for r in entry["runs"] for p in r["curve"])
    ax.set_ylim(0, max(1.0, min(highest_loss, 2.5) * 1.05))
    runs = len(entry["runs"])
    ax.set_xlabel(chinese("训练时间（分钟）", "minutes of training"))
    ax.set_title(chinese(f"{FIGURE_NAMES.get(framework, framework)}：课堂模式，{runs} 次",
                         f"{framework}: classroom preset, {runs} runs"), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def measure(framework, runs, images, minutes=None):
    """Run `framework` `runs` times, each in its own process; return (run records, errors)."""
    records, errors = [], []
    for seed in range(runs):
        print(f"classroom preset: {framework}, run {seed + 1}/{runs} ...", flush=True)
        command = [sys.executable, __file__, "--one", framework, "--seed", str(seed)]
        if images is not None:
            command += ["--images", str(images)]
        if minutes is not None:
            command += ["--minutes", str(minutes)]
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            errors.append(f"{framework} run {seed + 1}: " + " ".join(out.stderr.strip().splitlines()[-1:]))
            print(errors[-1], flush=True)
            continue
        records.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = records[-1]
        trained = f", {r['train_images']} images in mode {r['mode'] or '(one)'}" if "mode" in r else ""
        print(f"  test acc {r['test_acc']:.3f}, {r['training_seconds'] / 60:.1f} min of training{trained}, "
              f"{r['wall_seconds'] / 60:.1f} min for the whole cell", flush=True)
    return records, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", action="append", default=None,
                        help="a framework to measure (repeat it, or give a comma-separated list); default: all installed")
    parser.add_argument("--runs", type=int, default=3, help="runs per framework (default 3)")
    parser.add_argument("--images", type=int, default=None, help="trial: another training image count (needs --out)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="measure the time-budget preset with this many minutes of training instead")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="folder for the results (default bench/results)")
    args = parser.parse_args(argv)
    if args.minutes is not None and args.images is not None:
        parser.error("--minutes (the time budget) and --images (a fixed image count) do not go together")
    if args.minutes is not None and not 0.25 <= args.minutes <= 120:
        parser.error("--minutes must be from 0.25 to 120")
    chosen = [f for item in (args.framework or FRAMEWORKS) for f in item.split(",") if f]
    unknown = sorted(set(chosen) - set(FRAMEWORKS))
    if unknown or args.runs < 1:
        parser.error(f"unknown framework(s) {unknown}; choose from {', '.join(FRAMEWORKS)}" if unknown
                     else "--runs must be at least 1")
    publish = args.images is None and args.out.resolve() == RESULTS.resolve()
    if args.images is not None and args.out.resolve() == RESULTS.resolve():
        parser.error("--images is a trial: give --out FOLDER, so that the published results stay as they are")
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from d2l_compat.common import presets
    from run import CLASSROOM_MARKERS, machine, update_readme, write_atomically
    import math
    if args.minutes is not None:
        return main_budget(args, chosen)
    steps = math.ceil((args.images or presets.CLASSROOM.train_size) / presets.CLASSROOM.batch_size)
    preset = preset_record(steps)
    if args.images is not None:
        preset["train_images"] = args.images
    measured, failures = {}, []
    for fw in chosen:
        if importlib.util.find_spec(fw) is None:
            print(f"{fw} is not installed: skipped", flush=True)
            continue
        runs, errors = measure(fw, args.runs, args.images)
        failures += errors
        if runs and not errors:
            measured[fw] = summarize(runs, fw)
            png = ROOT / measured[fw]["curve_png"] if publish else args.out / f"classroom-{fw}.png"
            if not publish:
                measured[fw]["curve_png"] = str(png)
            plot(fw, measured[fw], png)
    json_path = args.out / "classroom.json"
    old = json.loads(json_path.read_text("utf-8")) if json_path.is_file() else None
    data = merge(old, measured, datetime.date.today().isoformat(), machine(), preset)
    write_atomically(json_path, json.dumps(data, indent=1) + "\n")
    text = table(data)
    write_atomically(args.out / "classroom.md", text + "\n")
    if publish:
        update_readme(text, CLASSROOM_MARKERS)
    print(text)
    if failures:
        print("failed (earlier results kept for these frameworks):\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def main_budget(args, chosen):
    """--minutes: the time-budget runs, into classroom-budget.json and .md (and the README)."""
    from run import machine, update_readme, write_atomically
    measured, failures = {}, []
    for fw in chosen:
        if importlib.util.find_spec(fw) is None:
            print(f"{fw} is not installed: skipped", flush=True)
            continue
        runs, errors = measure(fw, args.runs, None, args.minutes)
        failures += errors
        if runs and not errors:
            measured[fw] = {"runs": runs}
    json_path = args.out / "classroom-budget.json"
    old = json.loads(json_path.read_text("utf-8")) if json_path.is_file() else {}
    same = old.get("minutes") == args.minutes and old.get("machine") == machine()
    data = {"date": datetime.date.today().isoformat(), "machine": machine(), "minutes": args.minutes,
            "target": {"test_acc": TARGET["test_acc"], "cell_seconds": (args.minutes + 1) * 60},
            "frameworks": {**(old.get("frameworks", {}) if same else {}), **measured}}
    write_atomically(json_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    text = budget_table(data)
    write_atomically(args.out / "classroom-budget.md", text + "\n")
    if args.out.resolve() == RESULTS.resolve():
        update_readme(text, BUDGET_MARKERS)
    print(text)
    if failures:
        print("failed (earlier results kept for these frameworks):\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


BUDGET_MARKERS = ("<!-- classroom-budget:start -->", "<!-- classroom-budget:end -->")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one = argparse.ArgumentParser()
        one.add_argument("--one")
        one.add_argument("--seed", type=int, default=0)
        one.add_argument("--images", type=int, default=None)
        one.add_argument("--minutes", type=float, default=None)
        a = one.parse_args()
        with contextlib.redirect_stdout(sys.stderr):
            record = run_one(a.one, a.seed, a.images, a.minutes)
        print(json.dumps(record))
    else:
        sys.exit(main())
