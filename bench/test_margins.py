"""How far the tests' learning thresholds are from what the runs reach, over repeated runs and thread counts.

    python bench/test_margins.py [--runs 4] [--threads 1 2] [--frameworks torch ...]

For each framework, in a process of its own per thread setting: the learning test's short run
(tests/test_training.py, SHORT_RUN: train and test accuracy against 0.25 and 0.2) and the trainer step's
twelve steps on one batch (tests/test_trainer_step.py: lowest late loss / first loss against 0.5), each
`--runs` times with fresh weights and batches. Writes bench/results/test_margins.json and .md.
"""
import argparse
import contextlib
import datetime
import io
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")


def measure(framework, runs):
    """In this process: {learning: [(train acc, test acc)], step: [ratio]} for `framework`."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    os.environ["D2L_COMPAT_SMOKE"] = "1"  # the trainer step's batch comes from the smoke preset, as in the test
    import importlib
    from d2l_compat.common import presets, schedule
    from notebook_code import build_namespace
    import test_trainer_step
    import test_training
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    found = {"learning": [], "step": []}
    for _ in range(runs):
        with contextlib.redirect_stdout(io.StringIO()):
            active, presets.active_preset = presets.active_preset, lambda: test_training.SHORT_RUN
            try:
                summary = test_training.train_short_run(d2l, framework)
            finally:
                presets.active_preset = active
            found["learning"].append((summary.train_acc, summary.test_acc))
            step = d2l._make_trainer(build_namespace(framework)["net"], 0.05, d2l.try_gpu(), schedule.constant(0.05))[0]
            losses = test_trainer_step.losses_on_one_batch(step, next(iter(d2l.load_data_fashion_mnist(16)[0])))
        found["step"].append(test_trainer_step.lowest_late_loss_ratio(losses))
    return found


def markdown(report):
    lines = [f"`bench/test_margins.py`, {report['date']}, on {report['machine_line']}: {report['runs']} runs per "
             "framework and thread count (fresh weights and batches each run).", "",
             "| framework | threads | train acc (min–max; test: > 0.25) | test acc (min–max; test: > 0.2) "
             "| lowest late loss ÷ first (max; test: < 0.5) |", "|---|---:|---:|---:|---:|"]
    for key, found in report["results"].items():
        fw, threads = key.split("@")
        train = [a for a, _ in found["learning"]]
        test = [b for _, b in found["learning"]]
        judged = "" if fw != "tensorflow" else " (not judged)"
        lines.append(f"| {fw} | {threads} | {min(train):.3f}–{max(train):.3f} | {min(test):.3f}–{max(test):.3f}{judged} "
                     f"| {max(found['step']):.2f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS))
    parser.add_argument("--measure", nargs=2, metavar=("FRAMEWORK", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]))))
        return 0
    sys.path.insert(0, str(ROOT))
    from d2l_compat.common import cpu
    report = {"date": datetime.date.today().isoformat(), "machine": cpu.describe(), "runs": args.runs,
              "results": {}}
    report["machine_line"] = cpu.summary(report["machine"])
    for fw in args.frameworks:
        for n in args.threads:
            env = {**os.environ, **cpu.thread_environment(n)}
            done = subprocess.run([sys.executable, __file__, "--measure", fw, str(args.runs)], env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=3600)
            if done.returncode:
                raise RuntimeError(f"{fw} with {n} threads failed:\n{done.stderr[-3000:]}")
            report["results"][f"{fw}@{n}"] = json.loads(done.stdout.strip().splitlines()[-1])
            print(fw, n, report["results"][f"{fw}@{n}"], flush=True)
    out = ROOT / "bench" / "results" / "test_margins"
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
