"""Is the same-function verdict robust? Run `make same-function` R times per thread setting and report
how close each judged measure came to its limit.

    python bench/same_function_repeats.py [--repeats 10] [--threads 1 2] [--avx2]

Each setting gives every framework that many threads (OMP_NUM_THREADS, MXNET_CPU_WORKER_NTHREADS,
TensorFlow's TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS; Paddle follows OMP_NUM_THREADS).
--avx2 caps oneDNN and MKL at AVX2 in every run (ONEDNN_MAX_CPU_ISA, DNNL_MAX_CPU_ISA for MXNet's older
oneDNN, MKL_ENABLE_INSTRUCTIONS), which brings an AVX-512 machine's kernels down to an AVX2-only one's
(ONEDNN_VERBOSE=1 then reports 'isa:Intel AVX2'). Writes bench/results/same_function_repeats[-avx2].json
and .md.
"""
import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from d2l_compat import same_function as sf  # noqa: E402  (imports no framework)
from d2l_compat.common import cpu  # noqa: E402

AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def one_run(env):
    """One `python -m d2l_compat.same_function` in `env`: (its results, its exit status)."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-m", "d2l_compat.same_function", "--save", folder], cwd=ROOT,
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=1200)
        path = pathlib.Path(folder) / "same_function.json"
        if not path.exists():
            raise RuntimeError(f"same_function failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(path.read_text()), done.returncode


def reported_gradients(results):
    """{framework: its largest float32 gradient difference (random weights, odd size for 'same' padding)}: the
    measure the old verdict judged, now only reported."""
    return {fw: max(d["float32"]["gradients"] for size, d in e["sizes"].items() if sf.limits(fw, int(size)))
            for fw, e in results["frameworks"].items()}


def worst_ratios(results):
    """{(framework, case, measure): value / limit} over both sizes, for every judged measure."""
    found = {}
    for fw, entry in results["frameworks"].items():
        for size, diffs in entry["sizes"].items():
            for case, limit in sf.limits(fw, int(size)).items():
                for k, v in diffs.get(case, {}).items():
                    if k in limit:
                        key = f"{fw} {case} {k}"
                        found[key] = max(found.get(key, 0.0), v / limit[k])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--avx2", action="store_true", help="run every thread setting with AVX2 kernels")
    args = parser.parse_args()
    settings = [(f"{n} thread{'s' * (n > 1)}{', AVX2 kernels' if args.avx2 else ''}",
                 {**cpu.thread_environment(n), **(AVX2 if args.avx2 else {})}) for n in args.threads]
    stem = ROOT / "bench" / "results" / f"same_function_repeats{'-avx2' if args.avx2 else ''}"
    report = {"date": datetime.date.today().isoformat(), "machine": cpu.describe(), "repeats": args.repeats,
              "settings": {}}
    for name, env in settings:
        worst, failures, float32 = {}, 0, {}
        for i in range(args.repeats):
            results, status = one_run(env)
            failures += status != 0 or bool(sf.verdict(results))
            for key, ratio in worst_ratios(results).items():
                worst[key] = max(worst.get(key, 0.0), ratio)
            for fw, value in reported_gradients(results).items():
                float32[fw] = max(float32.get(fw, 0.0), value)
            print(f"{name}: run {i + 1}/{args.repeats}, verdict {'fails' if sf.verdict(results) else 'passes'}",
                  flush=True)
        report["settings"][name] = {"env": env, "failed_runs": failures, "worst_ratio": worst,
                                    "float32_gradients_max": float32}
        if stem.with_suffix(".json").exists():  # settings measured earlier (other --threads) are kept
            kept = json.loads(stem.with_suffix(".json").read_text())["settings"]
            report["settings"] = {**{k: v for k, v in kept.items() if k not in report["settings"]},
                                  **report["settings"]}
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 1 if any(s["failed_runs"] for s in report["settings"].values()) else 0


def markdown(report):
    """The summary: per setting, failed runs and the judged measures that came closest to their limits."""
    lines = [f"`bench/same_function_repeats.py`, {report['date']}, on {cpu.summary(report['machine'])}: "
             f"{report['repeats']} runs of `make same-function` per setting.", "",
             "| setting | runs failed | closest to its limit (value / limit, worst run) | float32 gradients, "
             "largest (reported; the old limits were 1e-3, MXNet and TensorFlow 1e-2) |", "|---|---:|---|---|"]
    if report.get("note"):
        lines[1:1] = ["", report["note"]]
    for name, s in report["settings"].items():
        top = sorted(s["worst_ratio"].items(), key=lambda kv: -kv[1])[:3]
        lines.append(f"| {name} | {s['failed_runs']} of {report['repeats']} | "
                     + "; ".join(f"{k} {v:.2f}" for k, v in top) + " | "
                + ", ".join(f"{fw} {v:.1e}" for fw, v in s.get("float32_gradients_max", {}).items()) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
