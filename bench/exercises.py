"""Run the notebooks' comparison of exercises 4 and 6 in the classroom preset and record the results.

    python bench/exercises.py [FRAMEWORK ...]          `make bench-exercises` (default: all five)
    python bench/exercises.py --smoke [FRAMEWORK ...]  a few hundred images per net: checks the procedure,
                                                       prints the results and writes nothing

Each framework runs in a process of its own. It executes its notebook's model code and exercise
definitions, then the notebook's comparison cell itself, whose train_ch6 is wrapped to record
what each net reached. Writes bench/results/exercises.json and exercises.md; afterwards
`python tools/quote_results.py` writes the table into the notebooks. Each framework trains three
nets, each as long as one classroom-preset run (bench/results/classroom.json has those times).
"""
import contextlib
import datetime
import importlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import types

from d2l_compat.common.cpu import summary as machine_line  # imports no framework

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
DEFAULT = FRAMEWORKS  # each notebook quotes its own framework's row
NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "paddle": "PaddlePaddle",
         "mindspore": "MindSpore"}


SMOKE = dict(train_size=256, test_size=128, num_epochs=1, resize=None, batch_size=64)


def compare(framework, preset=None, name=None):
    """Run the notebook's comparison cell (of `name`, default exercises 4 and 6's); return
    ({net name: TrainingSummary}, the preset it ran in).

    `preset` (a presets.Preset) replaces the classroom preset for a short check. The smoke
    environment variable is lifted meanwhile: the cell skips its training under it.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from exercise_code import COMPARISON_NAME, build_exercises, comparison_cell
    from d2l_compat.common import presets
    name = name or COMPARISON_NAME
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    namespace = build_exercises(framework, name)
    summaries, used = [], []

    def train_ch6(net, train_iter, test_iter, num_epochs, lr, device=None):
        used.append(presets.active_preset())
        if used[-1] is None:
            raise RuntimeError(f"{framework}: the comparison cell trains without the classroom preset")
        result = d2l.train(net, train_iter, test_iter, num_epochs, lr, device)
        summaries.append(result[1] if isinstance(result, tuple) else result)
        return result[0] if isinstance(result, tuple) else None

    recording = types.ModuleType(d2l.__name__)
    recording.__dict__.update(vars(d2l))
    recording.train_ch6 = train_ch6
    namespace["d2l"] = recording
    smoke_env, active = os.environ.pop(presets.SMOKE_ENV, None), presets.active_preset
    if preset is not None:
        presets.active_preset = lambda: preset
    try:
        exec(compile(comparison_cell(framework, name), f"<comparison_{framework}>", "exec"), namespace)
    finally:
        presets.active_preset = active
        d2l.classroom_preset(False)
        if smoke_env is not None:
            os.environ[presets.SMOKE_ENV] = smoke_env
    names = list(namespace[name])
    if len(summaries) != len(names):
        raise RuntimeError(f"{framework}: the comparison cell trained {len(summaries)} nets, "
                           f"{name} names {len(names)}")
    return dict(zip(names, summaries)), used[0]


def run_one(framework, smoke):
    """compare() in the classroom preset (or a smoke-sized one), as JSON-ready data."""
    from d2l_compat.common import presets
    summaries, preset = compare(framework, presets.Preset("bench smoke", **SMOKE) if smoke else None)
    runs = {name: {"test_acc": s.test_acc, "train_acc": s.train_acc, "loss": s.loss,
                   "training_seconds": s.seconds, "epochs": s.epochs, "device": s.device}
            for name, s in summaries.items()}
    module = importlib.import_module(framework)
    return {"version": getattr(module, "__version__", "?"), "runs": runs,
            "preset": {"name": preset.name, "train_images": preset.train_size, "test_images": preset.test_size,
                       "batch_size": preset.batch_size}}


def write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def markdown(data):
    names = data["variants"]
    rows = [f"Exercises 4 and 6 in the classroom preset, measured {data['date']} on {machine_line(data['machine'])} "
            "by `make bench-exercises` (one run per net; test accuracy, train accuracy in brackets).", "",
            "| framework | epochs | " + " | ".join(names) + " | training time per net |",
            "|---|---:|" + "---:|" * len(names) + "---:|"]
    for fw, result in data["frameworks"].items():
        runs = result["runs"]
        minutes = sorted(runs[n]["training_seconds"] / 60 for n in names)
        rows.append(f"| {fw} {result['version']} | {runs[names[0]]['epochs']} | "
                    + " | ".join(f"{runs[n]['test_acc']:.3f} ({runs[n]['train_acc']:.3f})" for n in names)
                    + f" | {minutes[0]:.1f}-{minutes[-1]:.1f} min |")
    return "\n".join(rows) + "\n"


def frameworks_asked(argv, default):
    """(smoke?, the frameworks named on the command line, else `default`), or SystemExit naming the choices."""
    smoke = "--smoke" in argv
    chosen = [a for a in argv if a != "--smoke"] or list(default)
    unknown = [fw for fw in chosen if fw not in FRAMEWORKS]
    if unknown:
        raise SystemExit(f"unknown framework(s) {', '.join(unknown)}; choose from {', '.join(FRAMEWORKS)}")
    return smoke, chosen


def measure_each(script, chosen, smoke, what, show):
    """Run `script --one FRAMEWORK` in a process of its own per framework; (results, the nets' names).

    `show(framework, result)` prints each result as it arrives; a failure stops with nothing written.
    """
    results, names = {}, None
    for fw in chosen:
        if importlib.util.find_spec(fw) is None:
            raise SystemExit(f"{fw} is not installed; run `make setup`, or name other frameworks")
        print(f"{what}: {fw} ...", flush=True)
        out = subprocess.run([sys.executable, script, "--one", fw] + (["--smoke"] if smoke else []),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{fw} failed; nothing written:\n{out.stderr[-3000:]}")
        results[fw] = json.loads(out.stdout.strip().splitlines()[-1])
        these = list(results[fw]["runs"])
        if names not in (None, these):
            raise SystemExit(f"the notebooks train different nets: {names} and {these} ({fw})")
        names = these
        show(fw, results[fw])
    return results, names


def main(argv):
    smoke, chosen = frameworks_asked(argv, DEFAULT)
    sys.path.insert(0, str(ROOT / "bench"))
    from run import machine
    results, names = measure_each(__file__, chosen, smoke, "exercises 4 and 6",
                                  lambda fw, r: print(json.dumps(r, ensure_ascii=False, indent=1), flush=True))
    record("exercises", results_data(machine(), names, results), markdown, smoke)
    if not smoke:
        print("the notebooks quote these through tools/quote_results.py (make bench-exercises runs it)")


def results_data(machine, names, results):
    """What a results file holds: the date, the machine, the nets' names and each framework's runs."""
    return {"date": datetime.date.today().isoformat(), "machine": machine, "variants": names,
            "frameworks": results}


def record(stem, data, markdown, smoke):
    """Write bench/results/STEM.json and STEM.md, and print the table; a smoke run only prints it."""
    print(markdown(data))
    if smoke:
        print("smoke run: nothing written")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_atomically(RESULTS / f"{stem}.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    write_atomically(RESULTS / f"{stem}.md", markdown(data))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        with contextlib.redirect_stdout(sys.stderr):
            outcome = run_one(sys.argv[2], smoke="--smoke" in sys.argv[3:])
        print(json.dumps(outcome, ensure_ascii=False))
    else:
        main(sys.argv[1:])
