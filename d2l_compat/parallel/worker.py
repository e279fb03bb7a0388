"""What runs in every data-parallel worker process (started by d2l_compat.parallel.launch, never by hand).

    worker.py --framework F --workers N train [--recipe classroom|book] [--images K] [--test-images T]
                                              [--summary FILE] [--check DIR]
    worker.py --framework F --workers N check DIR       one step from DIR/start.npz on DIR/batch.npz

`train --check DIR` takes the check's step first, then trains a new net (one start-up for both, as the tests do).

`check` writes DIR/after.npz (worker 0), then DIR/imported.npz and DIR/expected.npz, computed without the engine:
the trained tensors as imported, and after one plain SGD step on the mean of the shares' gradients, each share
normalised by its own batch statistics.
"""
import argparse
import contextlib
import dataclasses
import importlib
import io
import json
import os
import sys

import numpy as np

if __package__ in (None, ""):  # started as a script by a framework's launcher: not this folder (its torch.py
    # would shadow PyTorch) but the project's root goes first on the path
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from d2l_compat import FRAMEWORKS  # noqa: E402
from d2l_compat.parallel import BOOK_BATCH, BOOK_RESIZE, ENGINES  # noqa: E402
from d2l_compat.common import presets, shards, weights  # noqa: E402
from d2l_compat.common.notebooks import build_namespace  # noqa: E402

# The notebooks' training call (lr: the classroom's one-cycle peak; the classroom preset trains 1 epoch).
LR, NUM_EPOCHS = 0.05, 10


def parse(argv):
    """worker.py's arguments (the module's docstring)."""
    parser = argparse.ArgumentParser(prog="d2l_compat.parallel.worker")
    parser.add_argument("--framework", choices=FRAMEWORKS, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    sub = parser.add_subparsers(dest="task", required=True)
    train = sub.add_parser("train")
    train.add_argument("--recipe", choices=("classroom", "book"), default="classroom")
    train.add_argument("--images", type=int, default=presets.CLASSROOM_IMAGES)
    train.add_argument("--test-images", type=int, default=None)
    train.add_argument("--summary", default=None)
    train.add_argument("--check", default=None, metavar="DIR")
    sub.add_parser("check").add_argument("folder")
    return parser.parse_args(argv)


def quiet_build(engine, framework):
    """The notebook's net, built without the shape printouts of its cells."""
    with contextlib.redirect_stdout(io.StringIO()):
        return engine.build(build_namespace(framework))


def reference(d2l, net, folder, world):
    """One process: the gradient of every share from the same start, averaged, one plain SGD step.

    Writes the trained tensors as the net holds them after the import (imported.npz: a net without
    convolution biases folds them) and after the step (expected.npz).
    """
    with np.load(os.path.join(folder, "batch.npz")) as batch:
        X, y, lr = batch["X"], batch["y"], float(batch["lr"])
    d2l.import_weights(net, os.path.join(folder, "start.npz"))
    imported = weights.state(d2l._weight_slots(net), d2l._read, d2l.FRAMEWORK)
    grads = [d2l._sgd_step(net, shards.share(X, r, world), shards.share(y, r, world), 0.0)[2] for r in range(world)]
    mean = {name: np.mean([g[name] for g in grads], axis=0) for name in grads[0]}
    np.savez(os.path.join(folder, "imported.npz"), **{name: imported[name] for name in mean})
    np.savez(os.path.join(folder, "expected.npz"), **{name: imported[name] - lr * mean[name] for name in mean})


def check(d2l, engine, net, folder, rank, world):
    """One engine step from start.npz on this worker's share of batch.npz; worker 0 writes after.npz, then
    computes the reference in the same process (same kernels, same thread count), without the engine."""
    with np.load(os.path.join(folder, "batch.npz")) as batch:
        X, y, lr = batch["X"], batch["y"], float(batch["lr"])
    if not engine.IN_PROCESS:
        X, y = shards.share(X, rank, world), shards.share(y, rank, world)
    stepped = engine.check_step(d2l, net, os.path.join(folder, "start.npz"), X, y, lr)
    if rank == 0:
        d2l.export_weights(stepped, os.path.join(folder, "after.npz"))
        reference(d2l, quiet_build(engine, d2l.FRAMEWORK), folder, world)  # same process, same threads


def train(d2l, engine, net, args, started):
    """The classroom recipe on `args.images` images (or the book's: 10 epochs of 60,000 at 96x96, batch 256),
    shared between the workers; worker 0 prints the lines."""
    if args.recipe == "classroom":
        presets.classroom_preset(True, images=args.images)
        if args.test_images:
            presets.test_on_first(args.test_images)
        train_iter, test_iter = d2l.load_data_fashion_mnist(presets.CLASSROOM.batch_size)
    else:
        train_iter, test_iter = d2l.load_data_fashion_mnist(BOOK_BATCH, resize=BOOK_RESIZE)
    if engine.IN_PROCESS:
        train_iter = shards.whole(train_iter, started.world)
    else:
        train_iter = shards.shard(train_iter, started.rank, started.world)
    print(engine_line(args.framework, started, train_iter), flush=True)
    summary = engine.train(d2l, net, train_iter, test_iter, LR, started, NUM_EPOCHS)
    if args.summary and started.rank == 0:
        with open(args.summary + ".part", "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(summary), f)
        os.replace(args.summary + ".part", args.summary)


def engine_line(framework, started, train_iter):
    """The line that names the engine, the workers and the devices."""
    engine = ENGINES[framework]
    per = train_iter.batch_size if not started.in_process else train_iter.batch_size // started.world
    return (f"数据并行：{engine.name}，{started.world} 个{'设备' if started.in_process else '工作进程'}"
            f"（{started.backend}），设备 {', '.join(started.devices)}；每个小批量 {per * started.world} 张图像，"
            f"每份 {per} 张；{engine.batch_norm}。")


def main(argv=None):
    """One worker's whole task."""
    args = parse(argv)
    engine = importlib.import_module(f"d2l_compat.parallel.{args.framework}")
    started = engine.start(args.workers, args.device)
    if started.rank != 0:  # one voice: worker 0 prints the lines, the others only their errors
        sys.stdout = open(os.devnull, "w")
    d2l = importlib.import_module(f"d2l_compat.{args.framework}")
    folder = args.folder if args.task == "check" else args.check
    if folder:
        check(d2l, engine, quiet_build(engine, args.framework), folder, started.rank, started.world)
    if args.task == "train":
        train(d2l, engine, quiet_build(engine, args.framework), args, started)
    engine.finish()


if __name__ == "__main__":
    main()
