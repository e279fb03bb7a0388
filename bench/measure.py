"""Measure one framework; prints one JSON line. Run by bench/run.py, one process per framework.

    python bench/measure.py FRAMEWORK [--rounds R] [--batches B] [--prefetch-check]

- train_96: training images/s of d2l_compat's step at the documents' recipe (96x96, batch 256):
  the median of 2 timed steps after a warm-up step (a step takes seconds and varies little).
- The loop at 28x28, batch 32: d2l_compat's whole loop (`fit`, data pipeline included) and a bare
  framework loop on ready tensors (bench/bare_loops.py), interleaved over R rounds of B batches each
  (default 8 x 25: 200 batches per loop), so that a machine that slows down slows both. Batches of
  32 halve the time of the classroom preset's 64 and give d2l_compat's per-batch work twice the
  weight. loop_ratio_28 is the median over the rounds of (d2l_compat time / bare time), with its
  min and max; train_28 and compat_28 are the two loops' images/s (medians).
- pipeline_96: images/s of the data pipeline alone (gather, scale, layout, convert) at 96x96.
- --prefetch-check adds a third loop, d2l_compat's with its prefetch thread off (Batches.prefetch),
  and reports prefetch_ratio_28, the median of (time with the thread / time without).
"""
import argparse
import contextlib
import importlib
import io
import json
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]
os.environ.pop("D2L_COMPAT_SMOKE", None)

from bare_loops import BARE  # noqa: E402
from notebook_code import build_namespace  # noqa: E402

from d2l_compat.common import presets  # noqa: E402
from d2l_compat.common.data import Batches, prepared_arrays  # noqa: E402
from d2l_compat.common.training import fit  # noqa: E402

LR = 0.05
LOOP_BATCH = 32


def fresh_net(framework):
    with contextlib.redirect_stdout(io.StringIO()):
        return build_namespace(framework)["net"]


def trainer(d2l, framework, device):
    """(step, net) from d2l_compat's own training set-up (the documents' SGD), on a fresh notebook net."""
    net = fresh_net(framework)
    made = d2l._make_trainer(net, LR, device)
    return made[0], (made[3] if framework == "tensorflow" else net)


def subset(d2l, framework, resize, batch_size, n_batches, shuffle=True):
    """A Batches over the first n_batches * batch_size training images (converted by d2l)."""
    train_x, train_y, _, _ = prepared_arrays(resize, presets.Preset("bench", batch_size * n_batches, 1, 1))
    return Batches(train_x, train_y, batch_size, shuffle, framework, d2l._to_batch, seed=0)


def step_rate(d2l, framework, device, resize, batch_size, repeats, warmup=1):
    """Images/s of d2l_compat's training step: median over `repeats` timed steps after warm-up."""
    step, _ = trainer(d2l, framework, device)
    X, y = next(iter(subset(d2l, framework, resize, batch_size, 1)))

    def synced_step():  # read the results back: asynchronous engines (MXNet, GPUs) finish the step
        return [float(v) for v in step(X, y)]

    for _ in range(warmup):
        synced_step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        synced_step()
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def pipeline_rate(d2l, framework, resize, batch_size, n_batches):
    """Images/s of reading ready batches as framework tensors (gather, scale, layout, convert)."""
    batches = subset(d2l, framework, resize, batch_size, n_batches)
    start = time.perf_counter()
    n = sum(int(X.shape[0]) for X, _ in batches)
    return n / (time.perf_counter() - start)


def resize_seconds():
    """Seconds to resize all 70,000 images to 96x96 once (what load_data_fashion_mnist does)."""
    prepared_arrays.cache_clear()
    start = time.perf_counter()
    prepared_arrays(96, None)
    seconds = time.perf_counter() - start
    prepared_arrays.cache_clear()
    return seconds


def loops(d2l, framework, device, rounds, n_batches, prefetch_check, batch_size=LOOP_BATCH):
    """The 28x28 loops, interleaved: {name: [seconds per round]} for 'compat', 'bare' (and 'no_prefetch')."""
    step, tf_net = trainer(d2l, framework, device)
    compat = subset(d2l, framework, None, batch_size, n_batches)
    ready = list(subset(d2l, framework, None, batch_size, n_batches))
    if framework == "torch":
        ready = [(X.to(device), y.to(device)) for X, y in ready]
    [float(v) for v in step(*ready[0])]  # warm-up (graph building, kernel selection, compiling); builds TF's net
    net = tf_net if framework == "tensorflow" else fresh_net(framework)
    if framework != "tensorflow":
        d2l._make_trainer(net, LR, device)  # same initialisation and device placement
    bare = BARE[framework](net, LR, device)
    bare(ready[:2])  # its warm-up

    def run_compat(batches):
        with contextlib.redirect_stdout(io.StringIO()):
            fit(step, lambda it: 0.0, "bench", batches, None, 1)

    inline = subset(d2l, framework, None, batch_size, n_batches)
    inline.prefetch = False
    variants = {"compat": lambda: run_compat(compat), "bare": lambda: bare(ready)}
    if prefetch_check:
        variants["no_prefetch"] = lambda: run_compat(inline)
    seconds = {name: [] for name in variants}
    for r in range(rounds):
        for name in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
            start = time.perf_counter()
            variants[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def ratios(numerator, denominator):
    """Median, min and max of the per-round ratios."""
    each = [a / b for a, b in zip(numerator, denominator)]
    return {"median": statistics.median(each), "min": min(each), "max": max(each)}


def versions(framework):
    return getattr(importlib.import_module(framework), "__version__", "?")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("framework")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batches", type=int, default=25, help="batches per round and loop")
    parser.add_argument("--prefetch-check", action="store_true")
    args = parser.parse_args()
    framework = args.framework
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    device = d2l.try_gpu()
    result = {"framework": framework, "version": versions(framework),
              "device": str(getattr(device, "_device_name", device))}
    start = time.perf_counter()
    result["train_96"] = step_rate(d2l, framework, device, 96, 256, 2)
    result["batch_96"] = 256
    seconds = loops(d2l, framework, device, args.rounds, args.batches, args.prefetch_check)
    images = args.batches * LOOP_BATCH
    result["train_28"] = images / statistics.median(seconds["bare"])
    result["compat_28"] = images / statistics.median(seconds["compat"])
    result["loop_ratio_28"] = ratios(seconds["compat"], seconds["bare"])
    result["loop_batches"], result["loop_batch_size"] = args.rounds * args.batches, LOOP_BATCH
    if args.prefetch_check:
        result["prefetch_ratio_28"] = ratios(seconds["compat"], seconds["no_prefetch"])
    result["pipeline_96"] = pipeline_rate(d2l, framework, 96, 256, 20)
    if framework == "torch":
        result["resize_all_96_s"] = resize_seconds()
    result["bench_seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
