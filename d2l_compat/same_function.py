"""Five frameworks, one function: given the same weights, do the notebooks' ResNet-18s compute the same numbers?

    python -m d2l_compat.same_function [--save bench/results]      (make same-function)

One weight file from a fixed seed (weights.random_weights) and the first Fashion-MNIST test images,
resized as in training; every installed framework runs in a process of its own on its notebook's
own model code and is compared with PyTorch: logits in inference and training mode, the loss, the
gradients of the mean cross-entropy and the weights after one SGD step. Then each framework's
export is imported by every other. Importing this module imports no framework.
"""
import argparse
import contextlib
import datetime
import functools
import importlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from . import FRAMEWORKS
from .common import cpu, weights
from .common.notebooks import ROOT, build_namespace

SEED, BATCH, LR = 0, 8, 0.05
# 96 as in training. At 97 every stride-2 layer sees an odd size, where 'same' padding (Keras,
# MindSpore's max-pool) is symmetric like the others' explicit padding: the two sizes separate
# the padding rule from everything else.
SIZES = (96, 97)
REFERENCE = "torch"
# Logits: max |difference| / max |logit|; gradients and stepped weights: |difference| / |PyTorch's| as
# vectors (Euclidean norms over every trainable tensor). Three cases decide the verdict (README, "Five
# frameworks, one function"), each one that rounding cannot decide:
# - float32, the file's random weights: only what is a continuous function of the weights and images
#   (logits, loss, running statistics). Float32 gradients and steps jump where rounding moves a
#   pre-activation across a ReLU kink, so they are reported, never judged.
# - float64, the same weights, in every framework that computes in float64: everything, held tight. What
#   is left is constants the frameworks keep in float32 (BN momentum 0.9: 2.4e-7 in the statistics).
# - float32, kink-free weights (weights.kink_free_weights): every ReLU input lies a quarter of its layer's
#   largest value from 0 (measured in float64 by PyTorch, required >= KINK_FREE_MARGIN), so the gradients
#   and the step are continuous too. For MindSpore, whose CPU kernels have no float64, this decides them.
# Training-mode logits and running statistics go through batch statistics of as few as 72 values per
# channel (stage 4), which amplify rounding: MXNet's AVX2 kernels reached 4.4e-5 there (AVX-512: 8.9e-6).
TOLERANCE = {"inference": 1e-4, "training": 1e-3, "loss": 1e-4, "statistics": 1e-3, "round_trip": 1e-4}
FLOAT64_TOLERANCE = {"inference": 1e-10, "training": 1e-10, "loss": 1e-10, "gradients": 1e-7,
                     "worst_gradient": 1e-7, "step": 1e-8, "statistics": 1e-6}
KINK_FREE_TOLERANCE = {**TOLERANCE, "gradients": 1e-4, "step": 1e-4}
KINK_FREE_MARGIN = 1e-3  # smallest |ReLU input| / largest, about 10^4 float32 rounding steps
CASES = {"float32": TOLERANCE, "float64": FLOAT64_TOLERANCE, "kink_free": KINK_FREE_TOLERANCE}
MEASURES = ("inference", "training", "loss", "gradients", "worst_gradient", "step", "statistics")
# Measured, and explained in README ("Five frameworks, one function"); the test holds them to these.
SAME_PADDING = {"tensorflow": "padding='same' in every stride-2 convolution and in the max-pool",
                "mindspore": "pad_mode='same' in the max-pool"}
RESULTS = ROOT / "bench" / "results" / "same_function.json"


def installed():
    """The frameworks installed here, PyTorch (the reference) first."""
    found = [fw for fw in FRAMEWORKS if importlib.util.find_spec(fw) is not None]
    return sorted(found, key=lambda fw: fw != REFERENCE)


def fashion_mnist_batch(size, count=BATCH):
    """The first `count` Fashion-MNIST test images at size x size as float32 NCHW in [0, 1], and their labels."""
    from .common import fashion_mnist
    from .common.resize import resize_images
    _, _, images, labels = fashion_mnist.load_arrays()
    x = resize_images(images[:count], size)[:, None].astype(np.float32) / np.float32(255)
    return x, labels[:count].astype(np.int32)


_CASE = {}


def notebook_case(size=SIZES[0]):
    """(weight file, the first test images as NCHW float32, PyTorch's committed logits) for a notebook's check.

    The file holds the seed-SEED random weights, written once per process into a temporary folder.
    """
    if "path" not in _CASE:
        folder = tempfile.TemporaryDirectory(prefix="d2l_compat-")
        _CASE.update(folder=folder, path=Path(folder.name) / f"resnet18-seed{SEED}.npz")
        weights.save_weights(weights.random_weights(SEED), _CASE["path"])
    logits = json.loads(RESULTS.read_text(encoding="utf-8"))["reference_logits"][str(size)]
    return _CASE["path"], fashion_mnist_batch(size)[0], np.array(logits, np.float32)


def agreement(logits, reference):
    """One Chinese line: do `logits` equal PyTorch's within TOLERANCE? Rounded: the same on every machine."""
    found = max_relative(logits, reference)
    if found <= TOLERANCE["inference"]:
        return f"与 PyTorch 一致：最大差值不到 logits 最大绝对值的 {_power(TOLERANCE['inference'])}"
    return f"与 PyTorch 不同：最大差值约为 logits 最大绝对值的 {_power(found)}"


def _power(x):
    """x to one significant digit, as the prose writes it: 1e-4, 3e-2."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


# ---- inside one framework's process ----------------------------------------------------------------

def _absent(d2l, net):
    """The convolutions whose bias the net does not have."""
    return [name.rsplit(".", 1)[0] for name, handle in d2l._weight_slots(net).items() if handle is None]


def _run_case(d2l, net, path, x, y):
    """Inference logits, then one SGD step: what the comparison reads from `net` carrying the file `path`."""
    d2l.import_weights(net, path)  # every size and precision starts from the file's weights and statistics
    found = {"inference": d2l._run(net, x, False)}
    found["training"], found["loss"], found["gradients"] = d2l._sgd_step(net, x, y, LR)
    found["stepped"] = weights.state(d2l._weight_slots(net), d2l._read, d2l.FRAMEWORK)
    return found


def _measure(d2l, net, build, path, kink_free_path, batches, export_path):
    """Everything one framework computes from the weight file `path`, in float32 and in float64, and in float32
    from `kink_free_path` (weights.kink_free_weights); returns (net, results).

    The float64 twin (`d2l._float64_net(build)`) carries the same float32 numbers of the file; where the
    framework cannot compute in float64, `float64_missing` says why. PyTorch also measures the kink margins.
    """
    out = {"bn": d2l.batch_norm_settings(), "sizes": {},
           "version": importlib.import_module(d2l.FRAMEWORK).__version__}
    net = d2l.import_weights(net, path)
    d2l.export_weights(net, export_path)
    out["absent"] = _absent(d2l, net)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            twin = d2l._float64_net(build)
    except NotImplementedError as err:
        twin, out["float64_missing"] = None, str(err)
    for size, (x, y) in batches.items():
        out["sizes"][size] = {"float32": _run_case(d2l, net, path, x, y),
                              "kink_free": _run_case(d2l, net, kink_free_path, x, y)}
        if hasattr(d2l, "_kink_margins"):
            out["sizes"][size]["margins"] = {case: d2l._kink_margins(d2l.import_weights(net, file), x)
                                             for case, file in (("random", path), ("kink_free", kink_free_path))}
        if twin is not None:
            twin = d2l.import_weights(twin, path)
            out["sizes"][size]["float64"] = _run_case(d2l, twin, path, x.astype(np.float64), y)
    return net, out


def _round_trip(d2l, net, path, x):
    """Import `path`; return (inference logits, largest change of any tensor read back from the net)."""
    net = d2l.import_weights(net, path)
    logits = d2l._run(net, x, False)
    expected = weights.fold_biases(weights.load_weights(path), _absent(d2l, net))
    again = weights.state(d2l._weight_slots(net), d2l._read, d2l.FRAMEWORK)
    return net, (logits, max(float(np.abs(again[k] - expected[k]).max()) for k in expected))


def _serve(framework, conn):
    """Answer the parent's requests in this process, which imports only `framework`."""
    try:
        d2l = importlib.import_module(f"d2l_compat.{framework}")
        def build():
            return build_namespace(framework)["net"]
        with contextlib.redirect_stdout(io.StringIO()):
            net = build()
        conn.send(("ok", None))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    tasks = {"measure": lambda d2l, net, *args: _measure(d2l, net, build, *args), "round_trip": _round_trip}
    while True:
        task, args = conn.recv()
        if task == "stop":
            return
        try:
            net, result = tasks[task](d2l, net, *args)
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


def _count(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def worker_environment(framework, environ=None):
    """The environment of `framework`'s process: this one's, except where a framework would hang in it.

    MXNet 1.9.1's float64 kernels, each parallel with OpenMP, hang (two threads spinning, no progress)
    when the engine runs them on two or more workers at once; on one thread each they do not. So with
    MXNET_CPU_WORKER_NTHREADS > 1, MXNet's process gets OMP_NUM_THREADS=1: as many threads in all.
    """
    env = dict(os.environ if environ is None else environ)
    if framework == "mxnet" and _count(env.get("MXNET_CPU_WORKER_NTHREADS"), 1) > 1:
        env["OMP_NUM_THREADS"] = "1"
    return env


class Workers:
    """One process per framework, started on first use and kept for later requests."""

    def __init__(self, scratch):
        self.scratch, self.procs, self.ready = Path(scratch), {}, set()

    def ask(self, framework, task, *args):
        """Run `task` ('measure' or 'round_trip') in `framework`'s process and return its answer."""
        self.prepare(framework)
        if framework not in self.ready:
            self._answer(framework)  # its start-up's "ready"
            self.ready.add(framework)
        self.procs[framework][1].send((task, args))
        return self._answer(framework)

    def prepare(self, framework):
        """Start `framework`'s process, if it is not running, without waiting for it: its import overlaps
        with the work of the process before it."""
        if framework not in self.procs:
            self._start(framework)

    def _start(self, framework):
        ours, theirs = socket.socketpair()
        log = self.scratch / f"{framework}.log"
        with open(log, "wb") as out:  # the frameworks' start-up chatter goes here, not to the terminal
            command = [sys.executable, "-m", "d2l_compat.same_function", "--serve", framework, str(theirs.fileno())]
            proc = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                    env=worker_environment(framework))
        theirs.close()
        self.procs[framework] = (proc, Connection(ours.detach()), log)

    def _answer(self, framework):
        proc, conn, log = self.procs[framework]
        try:
            while not conn.poll(1):
                if proc.poll() is not None:
                    raise EOFError
            status, value = conn.recv()
        except EOFError:
            raise RuntimeError(f"the {framework} process ended (exit code {proc.wait()}); its log ends:\n"
                               f"{log.read_text(errors='replace')[-3000:]}") from None
        if status != "ok":
            raise RuntimeError(f"{framework} failed:\n{value}")
        return value

    def close(self):
        """Stop every process."""
        for proc, conn, _ in self.procs.values():
            with contextlib.suppress(OSError):
                conn.send(("stop", ()))
        deadline = time.monotonic() + 5
        for proc, conn, _ in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:  # some frameworks take long to shut down; nothing is left to save
                proc.kill()
                proc.wait()
            conn.close()
        self.procs.clear()
        self.ready.clear()


# ---- comparisons, in the parent --------------------------------------------------------------------

TRAINABLE = [n for n, (_, field, _) in weights.SHAPES.items() if field not in ("running_mean", "running_var")]
# A convolution's bias before a batch norm has a zero gradient (the norm subtracts the mean it moves):
# the frameworks give rounding noise there, nothing to compare per tensor.
ZERO_GRADIENT = [f"{conv}.bias" for conv, kind, _ in weights.layers()
                 if kind == "conv" and weights.fold_target(conv)[0].endswith("running_mean")]
STATISTICS = [n for n in weights.SHAPES if n not in TRAINABLE]


def max_relative(found, reference):
    """max |found - reference| / max |reference|."""
    return float(np.abs(np.asarray(found) - reference).max() / np.abs(reference).max())


def worst_tensor(found, reference, names):
    """max over the tensors `names` of |found - reference| / |reference| (each tensor a vector)."""
    return max(norm_relative(found, reference, [n]) for n in names if n not in ZERO_GRADIENT)


def norm_relative(found, reference, names):
    """|found - reference| / |reference| over the tensors `names` taken as one vector."""
    diff = sum(float(np.square(found[n] - reference[n], dtype=np.float64).sum()) for n in names)
    return float(np.sqrt(diff / sum(float(np.square(reference[n], dtype=np.float64).sum()) for n in names)))


def without_biases(stepped, initial, absent):
    """PyTorch's weights after a step as a net without the biases of convolutions `absent` has them.

    Such a net has nothing to train there: the biases keep their initial values, folded
    (weights.fold_biases) into the batch norm that follows.
    """
    frozen = {**stepped, **{f"{conv}.bias": initial[f"{conv}.bias"] for conv in absent}}
    return weights.fold_biases(frozen, absent)


def predicted_statistics(reference, initial, bn_reference, bn, counts):
    """The running statistics PyTorch's step implies for a batch norm with settings `bn`.

    PyTorch's new statistics give the batch mean and variance; the framework's own momentum and
    kept variance (measured by batch_norm_settings) turn them into its statistics.
    """
    predicted = dict(reference)
    for layer, n in counts.items():
        mean, var = f"{layer}.running_mean", f"{layer}.running_var"
        m_ref, m = bn_reference["momentum"], bn["momentum"]
        to_biased = {"biased": 1.0, "unbiased": (n - 1) / n}
        batch_mean = (reference[mean] - (1 - m_ref) * initial[mean]) / m_ref
        biased = (reference[var] - (1 - m_ref) * initial[var]) / m_ref * to_biased[bn_reference["running_var"]]
        predicted[mean] = (1 - m) * initial[mean] + m * batch_mean
        predicted[var] = (1 - m) * initial[var] + m * biased / to_biased[bn["running_var"]]
    return predicted


def differences(found, reference, initial, absent, bn_reference, bn, counts):
    """One framework's differences from PyTorch in one precision at one image size (measures as in TOLERANCE)."""
    stepped = without_biases(reference["stepped"], initial, absent)
    statistics = without_biases(predicted_statistics(reference["stepped"], initial, bn_reference, bn, counts),
                                initial, absent)
    shared = [n for n in TRAINABLE if n in found["gradients"] and n in reference["gradients"]]
    return {"inference": max_relative(found["inference"], reference["inference"]),
            "training": max_relative(found["training"], reference["training"]),
            "loss": abs(found["loss"] - reference["loss"]) / abs(reference["loss"]),
            "gradients": norm_relative(found["gradients"], reference["gradients"], shared),
            "worst_gradient": worst_tensor(found["gradients"], reference["gradients"], shared),
            "step": norm_relative(found["stepped"], stepped, TRAINABLE),
            "statistics": max(max_relative(found["stepped"][n], statistics[n]) for n in STATISTICS)}


@functools.lru_cache(maxsize=2)
def _initial_weights(seed):
    """Each case's weights before the step: the random weights (float32 and float64 cases) and the kink-free ones."""
    random = weights.random_weights(seed)
    return {"float32": random, "float64": random, "kink_free": weights.kink_free_weights(seed)}


def compare(found, reference, absent, bn_reference, bn, counts, seed=SEED):
    """One framework's differences from PyTorch at one image size, case by case (see CASES), plus the float32
    gradients against PyTorch's float64 ones (reported)."""
    initial = _initial_weights(seed)
    diffs = {case: differences(found[case], reference[case], initial[case], absent, bn_reference, bn, counts)
             for case in CASES if case in found}
    shared = [n for n in TRAINABLE if n in found["float32"]["gradients"]]
    diffs["loss_value"] = found["float32"]["loss"]
    diffs["gradients_vs_float64"] = norm_relative(found["float32"]["gradients"], reference["float64"]["gradients"],
                                                  shared)
    return diffs


BIAS_GAP_NOTED = 1e-3  # a tensor this far from PyTorch's step with its biases trained is named in the notes


def trained_bias_gap(found, reference, absent):
    """{tensor: max relative difference} past the step tolerance, against PyTorch's step with its biases trained.

    PyTorch moves a shortcut's bias and bn2's beta by -lr * (the same gradient) each; folded into
    one beta, MindSpore's moves once.
    """
    trained = weights.fold_biases(reference, absent)
    kept = [n for n in TRAINABLE if n.rsplit(".", 1)[0] not in absent or not n.endswith(".bias")]
    gaps = {name: max_relative(found[name], trained[name]) for name in kept}
    return {name: gap for name, gap in gaps.items() if gap > BIAS_GAP_NOTED}


def limits(framework, size):
    """{case: {measure: limit}} that decide `framework`'s verdict at `size` (CASES); none where it computes
    another function (SAME_PADDING at an even size)."""
    if framework in SAME_PADDING and size % 2 == 0:
        return {}
    return {case: {k: v for k, v in limit.items() if k in MEASURES} for case, limit in CASES.items()}


def verdict(results):
    """[(framework or exporter->importer, size, measure, value)] past their limits; empty when all agree."""
    bad = []
    for fw, entry in results["frameworks"].items():
        for size, diffs in entry["sizes"].items():
            for case, limit in limits(fw, int(size)).items():
                if case not in diffs:
                    if case != "float64" or "float64_missing" not in entry:
                        bad.append((fw, size, f"{case} (not measured)", float("nan")))
                    continue
                bad += [(fw, size, f"{case} {k}", v) for k, v in diffs[case].items() if k in limit and not v <= limit[k]]
    for size, margins in results["margins"].items():
        if not margins["kink_free"]["relu"] >= KINK_FREE_MARGIN:
            bad.append((REFERENCE, size, "kink_free ReLU margin", margins["kink_free"]["relu"]))
    for pair, diffs in results["round_trip"].items():
        if not diffs["logits"] <= TOLERANCE["round_trip"]:
            bad.append((pair, SIZES[0], "round_trip", diffs["logits"]))
        if diffs["weights"] != 0:  # copies, transposes and folding give the file's numbers exactly
            bad.append((pair, SIZES[0], "round_trip_weights", diffs["weights"]))
    return bad


def run(frameworks=None, workers=None, seed=SEED, raw=None):
    """Run the whole comparison in one process per framework; return the results as plain data.

    `raw`, a dict, receives each framework's measurements before comparison (tests alter them).
    """
    frameworks = installed() if frameworks is None else list(frameworks)
    if REFERENCE not in frameworks:
        raise RuntimeError("the comparison needs PyTorch, the reference; run `make setup`")
    frameworks = sorted(frameworks, key=lambda fw: fw != REFERENCE)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="same-function-")))
        if workers is None:
            workers = Workers(scratch)
            stack.callback(workers.close)
        path, kink_free_path = scratch / "reference.npz", scratch / "kink-free.npz"
        weights.save_weights(weights.random_weights(seed), path)
        weights.save_weights(weights.kink_free_weights(seed), kink_free_path)
        batches = {size: fashion_mnist_batch(size) for size in SIZES}
        results = {"seed": seed, "batch": BATCH, "lr": LR, "sizes": list(SIZES), "frameworks": {},
                   "round_trip": {}}
        own_logits = {}
        for k, fw in enumerate(frameworks):
            for later in frameworks[k + 1:k + 3]:  # two ahead: their imports overlap with this one's work
                workers.prepare(later)
            out = workers.ask(fw, "measure", path, kink_free_path, batches, scratch / f"export-{fw}.npz")
            if raw is not None:
                raw[fw] = out
            if fw == REFERENCE:
                reference = out
            entry = {"version": out["version"], "bn": out["bn"], "conv_biases": not out["absent"], "sizes": {},
                     **({"float64_missing": out["float64_missing"]} if "float64_missing" in out else {})}
            for size in SIZES:
                entry["sizes"][str(size)] = compare(out["sizes"][size], reference["sizes"][size],
                                                    out["absent"], reference["bn"], out["bn"],
                                                    weights.batch_norm_counts(size, BATCH), seed)
            if out["absent"]:
                entry["trained_bias_gap"] = trained_bias_gap(out["sizes"][SIZES[-1]]["float32"]["stepped"],
                                                             reference["sizes"][SIZES[-1]]["float32"]["stepped"],
                                                             out["absent"])
            own_logits[fw] = out["sizes"][SIZES[0]]["float32"]["inference"]
            results["frameworks"][fw] = entry
        results["margins"] = {str(size): reference["sizes"][size]["margins"] for size in SIZES}
        results["reference_logits"] = {str(size): reference["sizes"][size]["float32"]["inference"].tolist()
                                       for size in SIZES}
        for importer in frameworks:
            for exporter in frameworks:
                logits, change = workers.ask(importer, "round_trip", scratch / f"export-{exporter}.npz",
                                             batches[SIZES[0]][0])
                results["round_trip"][f"{exporter}->{importer}"] = {
                    "logits": max_relative(logits, own_logits[importer]), "weights": change}
    return results


def _figure(value):
    return "0" if value == 0 else f"{value:.1e}"


def _span(values):
    low, high = _figure(min(values)), _figure(max(values))
    return low if low == high else f"{low} to {high}"


def notes(results):
    """The sentences under the table: its numbers that miss a target, and why (README explains more)."""
    found, out = results["frameworks"], []
    for fw in SAME_PADDING:
        if fw in found:
            d = found[fw]["sizes"]
            out.append(f"- {fw}: {SAME_PADDING[fw]}. Its logits differ by {_figure(d['96']['float32']['inference'])} "
                       f"at 96×96 and by {_figure(d['97']['float32']['inference'])} at 97×97; only 97×97 is judged.")
    for fw, entry in found.items():
        if "float64_missing" in entry:
            out.append(f"- {fw}: no float64 column: {entry['float64_missing']}. Its gradients and step are judged "
                       "on the kink-free weights.")
    margins = results["margins"]
    out.append("- Kinks, measured by PyTorch in float64 (smallest |ReLU input| and smallest gap between a max-pool "
               "window's two largest inputs, each relative to that layer's largest |input|): random weights "
               + ", ".join(f"{size}×{size} {_figure(m['random']['relu'])} and {_figure(m['random']['max_pool'])}"
                           for size, m in margins.items())
               + "; kink-free weights " + ", ".join(f"{_figure(m['kink_free']['relu'])} and "
                                                    f"{_figure(m['kink_free']['max_pool'])}" for m in margins.values())
               + f" (required for the ReLUs: {KINK_FREE_MARGIN:.0e}).")
    for fw, entry in found.items():
        if entry.get("trained_bias_gap"):
            out.append(f"- {fw}: against PyTorch's step with its convolution biases trained too, "
                       f"{', '.join(sorted(entry['trained_bias_gap']))} differ by up to "
                       f"{_figure(max(entry['trained_bias_gap'].values()))}; every other tensor agrees.")
    return out


def _limit_row(limit):
    return " | ".join(f"≤ {limit[k]:.0e}" if k in limit else "reported" for k in MEASURES)


def report(results):
    """The Markdown tables (and the sentences quoting their numbers) that README shows."""
    fws = list(results["frameworks"])
    ref = results["frameworks"][REFERENCE]
    lines = [f"Measured {results['date']} by `make same-function` on {cpu.summary(results['machine'])}: random weights from seed "
             f"{results['seed']} (convolutions with biases), the first {results['batch']} Fashion-MNIST test images, "
             f"one SGD step of lr {results['lr']}; every framework against PyTorch {ref['version']}. Logits: "
             "max |difference| / max |logit|; gradients and weights: |difference| / |PyTorch's| over all trainable "
             "tensors; running statistics: max |difference| / max |value| per tensor, against what PyTorch's step "
             "and the framework's batch-norm settings (second table) predict. Each case is compared with PyTorch "
             "in the same case.", "",
             "| framework | size | case | logits, inference | logits, training | loss | gradients | gradient, worst "
             "tensor | weights after the step | running statistics vs prediction |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    names = {"float32": "float32", "float64": "float64", "kink_free": "float32, kink-free weights"}
    for fw in fws:
        for size, d in results["frameworks"][fw]["sizes"].items():
            for case in CASES:
                if case in d:
                    lines.append(f"| {fw} | {size} | {names[case]} | "
                                 + " | ".join(_figure(d[case][k]) for k in MEASURES) + " |")
    heads = {"inference": "logits, inference", "training": "logits, training", "worst_gradient": "gradient, worst tensor",
             "step": "weights after the step"}
    lines += ["", "Limits that decide `make test` (at 96×96 only for the frameworks without 'same' padding):", "",
              "| case | " + " | ".join(heads.get(k, k) for k in MEASURES) + " |", "|---|" + "---:|" * len(MEASURES)]
    lines += [f"| {names[case]} | {_limit_row(limit)} |" for case, limit in CASES.items()]
    lines += ["", "Float32 gradients against PyTorch's float64 gradients, random weights (reported): "
              + "; ".join(f"{fw} " + ", ".join(_figure(e["sizes"][str(size)]["gradients_vs_float64"])
                                                for size in SIZES) for fw, e in results["frameworks"].items())
              + f" (at {' and '.join(f'{size}×{size}' for size in SIZES)})."]
    lines += [""] + notes(results)
    lines += ["", "| framework | version | BN epsilon | BN momentum (PyTorch's convention) | running variance kept "
              "| batch variance used to normalise | convolution biases |", "|---|---|---:|---:|---|---|---|"]
    for fw in fws:
        e = results["frameworks"][fw]
        bn = e["bn"]
        lines.append(f"| {fw} | {e['version']} | {bn['epsilon']:.0e} | {bn['momentum']:g} | {bn['running_var']} | "
                     f"{bn['normalises_with']} | {'yes' if e['conv_biases'] else 'no (folded on import)'} |")
    lines += ["", "Round trip, max |Δ logit| / max |logit| at 96×96 of the importing framework on the file each "
              "framework exported, against its logits on the original file (rows export, columns import):", "",
              "| exported by | " + " | ".join(fws) + " |", "|---|" + "---:|" * len(fws)]
    for exporter in fws:
        lines.append(f"| {exporter} | " + " | ".join(_figure(results["round_trip"][f"{exporter}->{importer}"]["logits"])
                                                    for importer in fws) + " |")
    return "\n".join(lines) + "\n"


def save(results, folder):
    """Write same_function.json and same_function.md into `folder`, each atomically."""
    folder = Path(folder)
    for name, text in (("same_function.json", json.dumps(results, indent=1) + "\n"),
                       ("same_function.md", report(results))):
        tmp = folder / f".{name}.part"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", metavar="DIR", help="also write same_function.json and .md into DIR")
    parser.add_argument("--serve", nargs=2, metavar=("FRAMEWORK", "FD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args.serve[0], Connection(int(args.serve[1])))
    results = run()
    results["date"] = datetime.date.today().isoformat()
    results["machine"] = cpu.describe()
    print(report(results))
    if args.save:
        save(results, args.save)
    bad = verdict(results)
    for where, size, measure, value in bad:
        print(f"PAST THE LIMIT: {where} at {size}x{size}: {measure} {value:.2e}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
