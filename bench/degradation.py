"""Exercise 6, continued: train the notebooks' plain and residual nets of 18 and 34 layers, record their loss curves.

    python bench/degradation.py [FRAMEWORK ...]          `make bench-degradation` (default: all five)
    python bench/degradation.py --smoke [FRAMEWORK ...]  a few hundred images per net: checks the
                                                         procedure, prints the results, writes nothing

Each framework runs in a process of its own. It executes its notebook's model code and the
definitions before the cell that trains `nets_34`, then that cell itself, with train_ch6 wrapped
to keep each net's summary (bench/exercises.py's compare). Writes bench/results/degradation.json,
degradation.md and one figure per framework, degradation-FRAMEWORK.png, of the four training-loss
curves; `python tools/quote_results.py` then quotes each notebook's own framework and
`tools/embed_figures.py` embeds its figure.
"""
import contextlib
import importlib
import json
import os
import pathlib
import sys
import tempfile

from d2l_compat.common.cpu import summary as machine_line  # imports no framework

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")  # as bench/exercises.py
NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "paddle": "飞桨", "mindspore": "MindSpore"}
SMOKE = dict(train_size=512, test_size=128, num_epochs=1, resize=None, batch_size=64)
LAST = 0.25  # the final loss: the mean of the curve's last quarter (one batch's loss is noisy)


def final_loss(curve, last=LAST):
    """The mean training loss over the last `last` fraction of the curve's points."""
    points = [loss for _, loss in curve]
    if not points:
        raise ValueError("the training recorded no loss curve")
    tail = points[-max(1, round(len(points) * last)):]
    return sum(tail) / len(tail)


def run_one(framework, smoke):
    """The four nets of the notebook's degradation cell, trained, as JSON-ready data."""
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT / "tests"))
    from exercise_code import DEGRADATION_NAME
    from exercises import compare
    from d2l_compat.common import presets
    summaries, preset = compare(framework, presets.Preset("bench smoke", **SMOKE) if smoke else None,
                                name=DEGRADATION_NAME)
    runs = {name: {"final_loss": final_loss(s.loss_curve), "loss_curve": [list(p) for p in s.loss_curve],
                   "train_acc": s.train_acc, "test_acc": s.test_acc, "training_seconds": s.seconds,
                   "device": s.device} for name, s in summaries.items()}
    module = importlib.import_module(framework)
    return {"version": getattr(module, "__version__", "?"), "runs": runs,
            "preset": {"train_images": preset.train_size, "test_images": preset.test_size,
                       "batch_size": preset.batch_size, "image_size": preset.resize or 28}}


def figure_path(framework, folder=RESULTS):
    return folder / f"degradation-{framework}.png"


def plot(framework, result, path):
    """The framework's four training-loss curves, written atomically to `path`."""
    from d2l_compat.common import fonts, loss_curves
    curves = {name: run["loss_curve"] for name, run in result["runs"].items()}
    images = result["preset"]["train_images"]
    fig = loss_curves.figure(curves, fonts.chinese(f"{NAMES[framework]}：前 {images} 张训练图像，一个迭代周期",
                                                   f"{framework}: first {images} training images, one epoch"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=100, metadata={"Software": None})
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def markdown(data):
    names = data["variants"]
    rows = [f"Exercise 6, continued: training loss of plain and residual nets, measured {data['date']} on "
            f"{machine_line(data['machine'])} by `make bench-degradation` (one run per net; the final loss is the "
            f"mean of the curve's last {LAST:.0%}; test accuracy in brackets).", "",
            "| framework | images | " + " | ".join(names) + " | training time |",
            "|---|---:|" + "---:|" * len(names) + "---:|"]
    for fw, result in data["frameworks"].items():
        runs = result["runs"]
        seconds = sum(runs[n]["training_seconds"] for n in names)
        rows.append(f"| {fw} {result['version']} | {result['preset']['train_images']} | "
                    + " | ".join(f"{runs[n]['final_loss']:.3f} ({runs[n]['test_acc']:.3f})" for n in names)
                    + f" | {seconds / 60:.1f} min |")
    return "\n".join(rows) + "\n"


def main(argv):
    sys.path.insert(0, str(ROOT / "bench"))
    from exercises import frameworks_asked, measure_each, record, results_data
    from run import machine
    smoke, chosen = frameworks_asked(argv, FRAMEWORKS)
    show = lambda fw, r: print(", ".join(f"{n} {run['final_loss']:.3f}" for n, run in r["runs"].items()), flush=True)
    results, names = measure_each(__file__, chosen, smoke, "degradation (exercise 6)", show)
    if not smoke:
        RESULTS.mkdir(parents=True, exist_ok=True)
        for fw, result in results.items():
            plot(fw, result, figure_path(fw))
        results = kept_with(results, names)
    record("degradation", results_data(machine(), names, results), markdown, smoke)


def kept_with(results, names, path=RESULTS / "degradation.json"):
    """`results` plus the committed frameworks not measured again, where they come from this machine and
    the same nets (a results file names one machine)."""
    from d2l_compat.common import cpu
    if not path.is_file():
        return results
    old = json.loads(path.read_text("utf-8"))
    if old.get("machine") != cpu.describe() or old.get("variants") != names:
        return results
    kept = {fw: run for fw, run in old["frameworks"].items() if fw not in results}
    return {fw: (results.get(fw) or kept[fw]) for fw in FRAMEWORKS if fw in results or fw in kept}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        with contextlib.redirect_stdout(sys.stderr):
            outcome = run_one(sys.argv[2], smoke="--smoke" in sys.argv[3:])
        print(json.dumps(outcome, ensure_ascii=False))
    else:
        main(sys.argv[1:])
