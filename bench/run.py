"""`make bench`: measure every installed framework, each in its own process, and report.

Writes bench/results/latest.json, latest.md and latest.png, and puts the table into README.md
between the bench markers. Options: --repeats N (timed steps per figure), --batch96 B.
"""
import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
CLASSROOM_MARKERS = ("<!-- classroom:start -->", "<!-- classroom:end -->")


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def measure(framework, args):
    command = [sys.executable, str(ROOT / "bench" / "measure.py"), framework,
               "--repeats", str(args.repeats), "--batch96", str(args.batch96)]
    print(f"measuring {framework} ...", flush=True)
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"framework": framework, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results, header):
    torch96 = next((r["train_96"] for r in results if r["framework"] == "torch" and "train_96" in r), None)
    lines = [header, "",
             f"| framework | version | train img/s, 96×96, batch {results[0].get('batch_96', 256)} | "
             "train img/s, 28×28, batch 256 | ÷ PyTorch (96×96) | data pipeline img/s (96×96) | "
             "pipeline ÷ train | d2l_compat loop ÷ bare loop (28×28, 12 batches of 64) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['framework']} | failed: {' '.join(r['error'])} |||||||")
            continue
        ratio = f"{r['train_96'] / torch96:.2f}" if torch96 else "–"
        lines.append(f"| {r['framework']} | {r['version']} | {r['train_96']:.1f} | {r['train_28']:.1f} | "
                     f"{ratio} | {r['pipeline_96']:,.0f} | {r['pipeline_96'] / r['train_96']:,.0f}× | "
                     f"{r['loop_ratio_28']:.3f} |")
    resize = next((r["resize_all_96_s"] for r in results if "resize_all_96_s" in r), None)
    if resize:
        lines += ["", f"Resizing all 70,000 images to 96×96 once (done at load time): {resize:.1f} s."]
    return "\n".join(lines)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in results if "error" not in r]
    names = [r["framework"] for r in ok]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    xs = range(len(ok))
    ax.bar([x - 0.2 for x in xs], [r["train_96"] for r in ok], 0.4, label="96×96")
    ax.bar([x + 0.2 for x in xs], [r["train_28"] for r in ok], 0.4, label="28×28")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("training images/s")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("ResNet-18 training throughput, " + ok[0]["device"] if ok else "")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def update_readme(text, markers=MARKERS):
    """Replace the README's text between two marker comments."""
    readme = ROOT / "README.md"
    content = readme.read_text("utf-8")
    start, end = markers
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{text}\n{end}{tail}", "utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch96", type=int, default=256)
    parser.add_argument("--frameworks", nargs="*", default=list(FRAMEWORKS))
    args = parser.parse_args()
    results = [measure(fw, args) for fw in args.frameworks if importlib.util.find_spec(fw)]
    when = datetime.datetime.now().strftime("%Y-%m-%d")
    header = f"Measured {when} on {machine()} (`make bench`; medians of {args.repeats}+ timed steps after warm-up)."
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({"machine": machine(), "date": when,
                                                     "results": results}, indent=1))
    text = table(results, header)
    (RESULTS / "latest.md").write_text(text + "\n")
    chart(results, RESULTS / "latest.png")
    update_readme(text + "\n\n![throughput](bench/results/latest.png)")
    print(text)


if __name__ == "__main__":
    main()
