"""Measure one framework; prints one JSON line. Run by bench/run.py, one process per framework.

    python bench/measure.py FRAMEWORK [--repeats N] [--batch96 B]
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
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.pop("D2L_COMPAT_SMOKE", None)

from bare_loops import BARE  # noqa: E402
from notebook_code import build_namespace  # noqa: E402

from d2l_compat.common import presets  # noqa: E402
from d2l_compat.common.data import Batches, prepared_arrays  # noqa: E402
from d2l_compat.common.training import fit  # noqa: E402

LR = 0.05


def fresh_net(framework):
    with contextlib.redirect_stdout(io.StringIO()):
        return build_namespace(framework)["net"]


def trainer(d2l, framework, device):
    """(step, net) from d2l_compat's own training set-up, on a fresh notebook net."""
    made = d2l._make_trainer(fresh_net(framework), LR, device)
    return made[0], (made[3] if framework == "tensorflow" else None)


def subset(d2l, framework, resize, batch_size, n_batches, shuffle=True):
    """A Batches over the first n_batches * batch_size training images (converted by d2l)."""
    train_x, train_y, _, _ = prepared_arrays(resize, presets.Preset("bench", batch_size * n_batches, 1, 1))
    return Batches(train_x, train_y, batch_size, shuffle, framework, d2l._to_batch, seed=0)


def step_rate(d2l, framework, device, resize, batch_size, repeats, warmup=2):
    """Images/s of d2l_compat's training step: median over `repeats` timed steps after warm-up."""
    step, _ = trainer(d2l, framework, device)
    batches = list(subset(d2l, framework, resize, batch_size, 1))
    X, y = batches[0]

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


def loop_ratio(d2l, framework, device, resize, batch_size, n_batches, repeats):
    """Wall time of d2l_compat's loop (fit, data included) over a bare loop on ready tensors."""
    compat, bare = [], []
    for _ in range(repeats):
        step, tf_net = trainer(d2l, framework, device)
        batches = subset(d2l, framework, resize, batch_size, n_batches)
        step(*next(iter(batches)))  # warm-up: graph building, kernel selection
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            fit(step, lambda it: 0.0, "bench", batches, None, 1)
            compat.append(time.perf_counter() - start)
        net = tf_net if framework == "tensorflow" else fresh_net(framework)
        if framework != "tensorflow":
            d2l._make_trainer(net, LR, device)  # same initialisation and device placement
        ready = list(subset(d2l, framework, resize, batch_size, n_batches))
        if framework == "torch":
            ready = [(X.to(device), y.to(device)) for X, y in ready]
        run = BARE[framework](net, LR, device)
        run(ready[:1])  # warm-up, as for the d2l_compat loop
        start = time.perf_counter()
        run(ready)
        bare.append(time.perf_counter() - start)
    return statistics.median(compat) / statistics.median(bare)


def versions(framework):
    module = importlib.import_module({"torch": "torch"}.get(framework, framework))
    return getattr(module, "__version__", "?")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("framework")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch96", type=int, default=256)
    args = parser.parse_args()
    framework = args.framework
    d2l = importlib.import_module(f"d2l_compat.{framework}")
    device = d2l.try_gpu()
    result = {"framework": framework, "version": versions(framework), "device": str(getattr(device, "_device_name", device))}
    start = time.perf_counter()
    result["train_96"] = step_rate(d2l, framework, device, 96, args.batch96, args.repeats, warmup=1)
    result["batch_96"] = args.batch96
    result["train_28"] = step_rate(d2l, framework, device, None, 256, max(args.repeats, 5))
    result["pipeline_96"] = pipeline_rate(d2l, framework, 96, 256, 20)
    result["loop_ratio_28"] = loop_ratio(d2l, framework, device, None, 64, 12, args.repeats)
    if framework == "torch":
        result["resize_all_96_s"] = resize_seconds()
    result["bench_seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
