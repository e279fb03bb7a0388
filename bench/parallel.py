"""`make bench-parallel`: the classroom recipe on 2 workers (each framework's own engine) against one process.

    python bench/parallel.py [--framework NAME ...] [--runs N] [--images K] [--workers W]

For each framework and run, one after the other, each in processes of its own: the notebook's training in one
process (bench/classroom.py's run: the classroom preset with K images, the fastest mode kept), then the same
recipe on W workers (`python -m d2l_compat.parallel`, the workers' threads sharing the cores out). Records the
training's examples/sec, the test accuracy on all 10,000 test images and the wall time of the whole run.

Writes bench/results/parallel.json and .md and the README's table between the parallel markers; a framework
that is run replaces only its own entry. The record names the machine (CPU family, model and ISA).
"""
import argparse
import datetime
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
MARKERS = ("<!-- parallel:start -->", "<!-- parallel:end -->")
TIMEOUT_S = 3600


def one_process(framework, seed, images):
    """The notebook's classroom training in a process of its own: (examples/sec, test acc, wall seconds)."""
    began = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "classroom.py"), "--one", framework, "--seed", str(seed),
                          "--images", str(images)], capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"{framework}, one process: " + out.stderr.strip()[-2000:])
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return {"examples_per_sec": images / record["training_seconds"], "test_acc": record["test_acc"],
            "wall_seconds": time.perf_counter() - began}


def workers(framework, count, images):
    """The same recipe on `count` workers of the framework's engine."""
    from d2l_compat.parallel import launch
    began = time.perf_counter()
    summary = launch.train(framework, count, images, timeout=TIMEOUT_S, echo=lambda line: None)
    return {"examples_per_sec": summary.examples_per_sec, "test_acc": summary.test_acc,
            "wall_seconds": time.perf_counter() - began}


def entry(runs):
    """A framework's summary over its runs: medians of the rates, the accuracy span."""
    def side(key):
        rates = [r[key]["examples_per_sec"] for r in runs]
        accs = [r[key]["test_acc"] for r in runs]
        return {"examples_per_sec": statistics.median(rates), "test_acc": [min(accs), max(accs)],
                "wall_seconds": max(r[key]["wall_seconds"] for r in runs)}
    one, many = side("one_process"), side("workers")
    return {"runs": runs, "one_process": one, "workers": many,
            "speedup": many["examples_per_sec"] / one["examples_per_sec"]}


def table(data):
    """The Markdown summary (parallel.md and the README)."""
    from d2l_compat.common.cpu import summary
    lines = [f"Measured {data['date']} on {summary(data['machine'])} by `make bench-parallel`: the classroom recipe "
             f"with {data['images']:,} training images, one process against {data['workers']} workers of each "
             "framework's engine (examples/sec of training, medians; test accuracy on all 10,000 test images).", "",
             "| framework | runs | one process: examples/sec | test acc | "
             f"{data['workers']} workers: examples/sec | test acc | speed-up |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    def accs(side):
        low, high = (f"{a:.3f}" for a in side["test_acc"])
        return low if low == high else f"{low}–{high}"
    for framework, e in data["frameworks"].items():
        one, many = e["one_process"], e["workers"]
        lines.append(f"| {framework} | {len(e['runs'])} | {one['examples_per_sec']:.0f} | {accs(one)} | "
                     f"{many['examples_per_sec']:.0f} | {accs(many)} | ×{e['speedup']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", action="append", choices=FRAMEWORKS, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--images", type=int, default=None, help="default: the committed results' count, else "
                        "d2l_compat.parallel.launch.DEFAULT_IMAGES")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from run import machine, update_readme, write_atomically
    from d2l_compat.parallel.launch import DEFAULT_IMAGES
    path = args.out / "parallel.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    args.images = args.images or data.get("images") or DEFAULT_IMAGES
    recipe = (data.get("images"), data.get("workers"), data.get("machine"))
    if data and recipe != (args.images, args.workers, machine()):
        if args.framework and set(args.framework) != set(FRAMEWORKS):  # the others would be lost, half the prose stale
            sys.exit(f"bench/parallel.py: {path} holds runs of {data.get('images')} images on {data.get('workers')} "
                     "workers on another machine or recipe; measure all five frameworks (no --framework) to replace "
                     "them, or keep their recipe")
        data = {}  # another recipe or machine: the old entries are not comparable
    found = dict(data.get("frameworks", {}))
    for framework in args.framework or FRAMEWORKS:
        runs = []
        for seed in range(args.runs):
            print(f"{framework}, run {seed + 1}/{args.runs}: one process ...", flush=True)
            one = one_process(framework, seed, args.images)
            print(f"  {one['examples_per_sec']:.0f} examples/sec, test acc {one['test_acc']:.3f}; "
                  f"{args.workers} workers ...", flush=True)
            many = workers(framework, args.workers, args.images)
            print(f"  {many['examples_per_sec']:.0f} examples/sec, test acc {many['test_acc']:.3f}", flush=True)
            runs.append({"seed": seed, "one_process": one, "workers": many})
        found[framework] = entry(runs)
    data = {"date": datetime.date.today().isoformat(), "machine": machine(), "images": args.images,
            "workers": args.workers, "frameworks": {fw: found[fw] for fw in FRAMEWORKS if fw in found}}
    write_atomically(path, json.dumps(data, indent=1) + "\n")
    text = table(data)
    write_atomically(args.out / "parallel.md", text + "\n")
    print(text)
    if args.out == RESULTS:
        update_readme(text, MARKERS)


if __name__ == "__main__":
    main()
