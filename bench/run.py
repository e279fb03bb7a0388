"""`make bench`: measure every installed framework, each in its own process, and report.

Writes bench/results/latest.json, latest.md and latest.png, and puts the table into README.md
between the bench markers. What each figure is: bench/measure.py. Options: --frameworks NAME ...,
--rounds R and --batches B (the interleaved 28x28 loops), --prefetch-check (also time d2l_compat's
loop with its prefetch thread off), --out DIR (a trial: write there, leave the README alone).
"""
import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
CLASSROOM_MARKERS = ("<!-- classroom:start -->", "<!-- classroom:end -->")
sys.path.insert(0, str(ROOT))
from d2l_compat.common import cpu  # noqa: E402  (imports no framework)
from d2l_compat.common.cpu import summary as machine_line  # noqa: E402
WITHIN = 3  # the target: every framework within 3x of PyTorch's images/s
# Why a framework is slower than that on a CPU, where it is; found by profiling (README, Benchmarks).
REASONS = {
    "paddle": "its own CPU convolutions (im2col and MKL matrix products) take most of every step; its dygraph "
              "training never reaches oneDNN, and every route to it (to_static, the static-graph Executor, "
              "with oneDNN flags) crashed in Paddle 3.3.1",
}


def machine():
    """This machine as the results files record it (d2l_compat.common.cpu.describe)."""
    return cpu.describe()


def measure(framework, args):
    command = [sys.executable, str(ROOT / "bench" / "measure.py"), framework,
               "--rounds", str(args.rounds), "--batches", str(args.batches)]
    if args.prefetch_check:
        command.append("--prefetch-check")
    print(f"measuring {framework} ...", flush=True)
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"framework": framework, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _spread(ratio):
    return f"{ratio['median']:.3f} ({ratio['min']:.2f}–{ratio['max']:.2f})"


def _times(ratio):
    return "–" if ratio is None else f"{ratio:.2f}"


def table(results, header):
    torch = next((r for r in results if r["framework"] == "torch" and "error" not in r), None)
    first = next((r for r in results if "loop_batches" in r), {"loop_batches": "?", "loop_batch_size": "?"})
    batches, batch = first["loop_batches"], first["loop_batch_size"]
    prefetch = any("prefetch_ratio_28" in r for r in results)
    lines = [header, "",
             f"| framework | version | train img/s, 96×96, batch 256 | ÷ PyTorch | train img/s, 28×28, batch {batch} | "
             f"÷ PyTorch | d2l_compat loop ÷ bare loop, 28×28 (median, min–max; {batches} batches each) | "
             + ("prefetch thread on ÷ off | " if prefetch else "")
             + "data pipeline img/s, 96×96 | pipeline ÷ train |",
             "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if prefetch else "") + "---:|---:|"]
    slow = []
    for r in results:
        if "error" in r:
            lines.append(f"| {r['framework']} | failed: {' '.join(r['error'])} |||||||" + ("|" if prefetch else ""))
            continue
        vs96 = r["train_96"] / torch["train_96"] if torch else None
        vs28 = r["train_28"] / torch["train_28"] if torch else None
        if torch and min(vs96, vs28) < 1 / WITHIN:
            slow.append(r["framework"])
        lines.append(f"| {r['framework']} | {r['version']} | {r['train_96']:.1f} | "
                     f"{_times(vs96)} | {r['train_28']:.0f} | {_times(vs28)} | {_spread(r['loop_ratio_28'])} | "
                     + (f"{_spread(r['prefetch_ratio_28'])} | " if prefetch else "")
                     + f"{r['pipeline_96']:,.0f} | {r['pipeline_96'] / r['train_96']:,.0f}× |")
    ok = [r for r in results if "error" not in r]
    worst = max((r["loop_ratio_28"]["median"] for r in ok), default=None)
    if ok:
        lines += ["", f"Targets: d2l_compat's loop within 5 % of the bare loop (median ratio ≤ 1.05): "
                  + ("met" if worst <= 1.05 else f"not met (worst {worst:.3f})") + f"; every framework within "
                  f"{WITHIN}× of PyTorch's images/s at both sizes: "
                  + ("not judged (PyTorch was not measured)." if torch is None
                     else "met." if not slow else "not met by " + ", ".join(slow) + ".")]
        lines += [f"- {fw}: {REASONS.get(fw, 'not yet explained')}." for fw in slow]
    resize = next((r["resize_all_96_s"] for r in results if "resize_all_96_s" in r), None)
    if resize:
        lines += ["", f"Resizing all 70,000 images to 96×96 once (done at load time): {resize:.1f} s."]
    return "\n".join(lines)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    ok = [r for r in results if "error" not in r]
    fig = Figure(figsize=(6.5, 3.2))
    ax = fig.subplots()
    xs = range(len(ok))
    ax.bar([x - 0.2 for x in xs], [r["train_96"] for r in ok], 0.4, label="96×96, batch 256")
    ax.bar([x + 0.2 for x in xs], [r["train_28"] for r in ok], 0.4, label=f"28×28, batch {ok[0]['loop_batch_size']}")
    ax.set_xticks(list(xs), [r["framework"] for r in ok])
    ax.set_ylabel("training images/s")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("ResNet-18 training throughput, " + ok[0]["device"] if ok else "")
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110, metadata={"Software": None})
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_atomically(path, text):
    """Write `text` to `path` through a temporary file in the same folder, then rename."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def update_readme(text, markers=MARKERS):
    """Replace the README's text between two marker comments."""
    readme = ROOT / "README.md"
    content = readme.read_text("utf-8")
    start, end = markers
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        write_atomically(readme, f"{head}{start}\n{text}\n{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--prefetch-check", action="store_true")
    parser.add_argument("--frameworks", nargs="*", default=list(FRAMEWORKS))
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args()
    began = time.perf_counter()
    results = [measure(fw, args) for fw in args.frameworks if importlib.util.find_spec(fw)]
    when = datetime.datetime.now().strftime("%Y-%m-%d")
    header = (f"Measured {when} on {machine_line(machine())} by `make bench` in {(time.perf_counter() - began) / 60:.1f} min "
              "(each framework in its own process; what each figure is: bench/measure.py).")
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / "latest.json", json.dumps({"machine": machine(), "date": when,
                                                          "results": results}, indent=1) + "\n")
    text = table(results, header)
    write_atomically(args.out / "latest.md", text + "\n")
    chart(results, args.out / "latest.png")
    if args.out.resolve() == RESULTS.resolve():
        update_readme(text + "\n\n![throughput](bench/results/latest.png)")
    print(text)


if __name__ == "__main__":
    main()
