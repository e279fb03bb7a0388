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
import importlib
import importlib.util
import io
import json
import os
import platform
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
from .common import weights
from .common.notebooks import ROOT, build_namespace

SEED, BATCH, LR = 0, 8, 0.05
# 96 as in training. At 97 every stride-2 layer sees an odd size, where 'same' padding (Keras,
# MindSpore's max-pool) is symmetric like the others' explicit padding: the two sizes separate
# the padding rule from everything else.
SIZES = (96, 97)
REFERENCE = "torch"
# The targets: logits max |difference| / max |logit|; gradients and stepped weights
# |difference| / |PyTorch's| as vectors (Euclidean norms over every trainable tensor).
TOLERANCE = {"inference": 1e-4, "training": 1e-4, "loss": 1e-4, "gradients": 1e-3, "step": 1e-3,
             "statistics": 1e-4, "round_trip": 1e-4}
# Measured, and explained in README ("Five frameworks, one function"); the test holds them to these.
SAME_PADDING = {"tensorflow": "padding='same' in every stride-2 convolution and in the max-pool",
                "mindspore": "pad_mode='same' in the max-pool"}
KINKS = {"mxnet": 1e-2, "tensorflow": 1e-2}  # gradient limits where float32 rounding crosses ReLU kinks
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
        return f"与 PyTorch 一致：最大差不到 logits 量级的 {TOLERANCE['inference']:.0e}"
    return f"与 PyTorch 不同：最大差约为 logits 量级的 {found:.0e}"


# ---- inside one framework's process ----------------------------------------------------------------

def _absent(d2l, net):
    """The convolutions whose bias the net does not have."""
    return [name.rsplit(".", 1)[0] for name, handle in d2l._weight_slots(net).items() if handle is None]


def _measure(d2l, net, path, batches, export_path, float64):
    """Everything one framework computes from the weight file `path`; returns (net, results)."""
    out = {"bn": d2l.batch_norm_settings(), "sizes": {},
           "version": importlib.import_module(d2l.FRAMEWORK).__version__}
    net = d2l.import_weights(net, path)
    d2l.export_weights(net, export_path)
    out["absent"] = _absent(d2l, net)
    for size, (x, y) in batches.items():
        d2l.import_weights(net, path)  # every size starts from the file's weights and statistics
        found = {"inference": d2l._run(net, x, False)}
        if float64 and hasattr(d2l, "_float64_gradients"):
            found["float64_gradients"] = d2l._float64_gradients(net, x, y)
        found["training"], found["loss"], found["gradients"] = d2l._sgd_step(net, x, y, LR)
        found["stepped"] = weights.state(d2l._weight_slots(net), d2l._read, d2l.FRAMEWORK)
        out["sizes"][size] = found
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
        with contextlib.redirect_stdout(io.StringIO()):
            net = build_namespace(framework)["net"]
        conn.send(("ok", None))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    tasks = {"measure": _measure, "round_trip": _round_trip}
    while True:
        task, args = conn.recv()
        if task == "stop":
            return
        try:
            net, result = tasks[task](d2l, net, *args)
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class Workers:
    """One process per framework, started on first use and kept for later requests."""

    def __init__(self, scratch):
        self.scratch, self.procs = Path(scratch), {}

    def ask(self, framework, task, *args):
        """Run `task` ('measure' or 'round_trip') in `framework`'s process and return its answer."""
        if framework not in self.procs:
            self._start(framework)
        self.procs[framework][1].send((task, args))
        return self._answer(framework)

    def _start(self, framework):
        ours, theirs = socket.socketpair()
        log = self.scratch / f"{framework}.log"
        with open(log, "wb") as out:  # the frameworks' start-up chatter goes here, not to the terminal
            command = [sys.executable, "-m", "d2l_compat.same_function", "--serve", framework, str(theirs.fileno())]
            proc = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        theirs.close()
        self.procs[framework] = (proc, Connection(ours.detach()), log)
        self._answer(framework)

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


# ---- comparisons, in the parent --------------------------------------------------------------------

TRAINABLE = [n for n, (_, field, _) in weights.SHAPES.items() if field not in ("running_mean", "running_var")]
STATISTICS = [n for n in weights.SHAPES if n not in TRAINABLE]


def max_relative(found, reference):
    """max |found - reference| / max |reference|."""
    return float(np.abs(np.asarray(found) - reference).max() / np.abs(reference).max())


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


def compare(found, reference, initial, absent, bn_reference, bn, counts):
    """One framework's differences from PyTorch at one image size (measures as in TOLERANCE)."""
    stepped = without_biases(reference["stepped"], initial, absent)
    statistics = without_biases(predicted_statistics(reference["stepped"], initial, bn_reference, bn, counts),
                                initial, absent)
    shared = [n for n in TRAINABLE if n in found["gradients"] and n in reference["gradients"]]
    return {"inference": max_relative(found["inference"], reference["inference"]),
            "training": max_relative(found["training"], reference["training"]),
            "loss": abs(found["loss"] - reference["loss"]) / abs(reference["loss"]),
            "gradients": norm_relative(found["gradients"], reference["gradients"], shared),
            "step": norm_relative(found["stepped"], stepped, TRAINABLE),
            "statistics": max(max_relative(found["stepped"][n], statistics[n]) for n in STATISTICS),
            "loss_value": found["loss"],
            **({"float64_gradients": norm_relative(found["gradients"], reference["float64_gradients"], shared)}
               if "float64_gradients" in reference else {})}


def trained_bias_gap(found, reference, absent):
    """{tensor: max relative difference} past the step tolerance, against PyTorch's step with its biases trained.

    PyTorch moves a shortcut's bias and bn2's beta by -lr * (the same gradient) each; folded into
    one beta, MindSpore's moves once.
    """
    trained = weights.fold_biases(reference, absent)
    kept = [n for n in TRAINABLE if n.rsplit(".", 1)[0] not in absent or not n.endswith(".bias")]
    gaps = {name: max_relative(found[name], trained[name]) for name in kept}
    return {name: gap for name, gap in gaps.items() if gap > TOLERANCE["step"]}


def limits(framework, size):
    """The test's limits for `framework` at `size`: TOLERANCE, widened where README explains why."""
    found = dict(TOLERANCE)
    if framework in KINKS:
        found["gradients"] = KINKS[framework]
    if framework in SAME_PADDING and size % 2 == 0:
        found = {k: v for k, v in found.items() if k not in ("inference", "training", "loss", "gradients",
                                                                 "step", "statistics")}
    return found


def verdict(results):
    """[(framework or exporter->importer, size, measure, value)] past their limits; empty when all agree."""
    bad = []
    for fw, entry in results["frameworks"].items():
        for size, diffs in entry["sizes"].items():
            bad += [(fw, size, k, v) for k, v in diffs.items()
                    if k in limits(fw, int(size)) and not v <= limits(fw, int(size))[k]]
    for pair, diffs in results["round_trip"].items():
        if not diffs["logits"] <= TOLERANCE["round_trip"]:
            bad.append((pair, SIZES[0], "round_trip", diffs["logits"]))
        if diffs["weights"] != 0:  # copies, transposes and folding give the file's numbers exactly
            bad.append((pair, SIZES[0], "round_trip_weights", diffs["weights"]))
    return bad


def run(frameworks=None, workers=None, seed=SEED, float64=True):
    """Run the whole comparison in one process per framework; return the results as plain data.

    `float64` also compares every framework's gradients with PyTorch's computed in float64.
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
        path = scratch / "reference.npz"
        initial = weights.random_weights(seed)
        weights.save_weights(initial, path)
        batches = {size: fashion_mnist_batch(size) for size in SIZES}
        results = {"seed": seed, "batch": BATCH, "lr": LR, "sizes": list(SIZES), "frameworks": {},
                   "round_trip": {}}
        own_logits = {}
        for fw in frameworks:
            out = workers.ask(fw, "measure", path, batches, scratch / f"export-{fw}.npz", float64)
            if fw == REFERENCE:
                reference = out
            entry = {"version": out["version"], "bn": out["bn"], "conv_biases": not out["absent"], "sizes": {}}
            for size in SIZES:
                entry["sizes"][str(size)] = compare(out["sizes"][size], reference["sizes"][size], initial,
                                                    out["absent"], reference["bn"], out["bn"],
                                                    weights.batch_norm_counts(size, BATCH))
            if out["absent"]:
                entry["trained_bias_gap"] = trained_bias_gap(out["sizes"][SIZES[-1]]["stepped"],
                                                             reference["sizes"][SIZES[-1]]["stepped"], out["absent"])
            own_logits[fw] = out["sizes"][SIZES[0]]["inference"]
            results["frameworks"][fw] = entry
        results["reference_logits"] = {str(size): reference["sizes"][size]["inference"].tolist() for size in SIZES}
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
            out.append(f"- {fw}: {SAME_PADDING[fw]}. Its logits differ by {_figure(d['96']['inference'])} "
                       f"at 96×96 and by {_figure(d['97']['inference'])} at 97×97.")
    for fw in KINKS:
        if fw in found and "float64_gradients" in found[fw]["sizes"]["96"]:
            gaps = [found[fw]["sizes"][str(size)]["float64_gradients"] for size in SIZES
                    if fw not in SAME_PADDING or size % 2]
            own = [found[REFERENCE]["sizes"][str(size)]["float64_gradients"] for size in SIZES]
            out.append(f"- {fw}: its gradients are {_span(gaps)} from PyTorch's float64 gradient (PyTorch's float32 "
                       f"ones: {_span(own)}).")
    for fw, entry in found.items():
        if entry.get("trained_bias_gap"):
            out.append(f"- {fw}: against PyTorch's step with its convolution biases trained too, "
                       f"{', '.join(sorted(entry['trained_bias_gap']))} differ by up to "
                       f"{_figure(max(entry['trained_bias_gap'].values()))}; every other tensor agrees.")
    return out


def report(results):
    """The Markdown tables (and the sentences quoting their numbers) that README shows."""
    fws = list(results["frameworks"])
    ref = results["frameworks"][REFERENCE]
    lines = [f"Measured {results['date']} by `make same-function` on {results['machine']}: random weights from seed "
             f"{results['seed']} (convolutions with biases), the first {results['batch']} Fashion-MNIST test images, "
             f"one SGD step of lr {results['lr']}; every framework against PyTorch {ref['version']}. Logits: "
             "max |difference| / max |logit|; gradients and weights: |difference| / |PyTorch's| over all trainable "
             "tensors; running statistics: max |difference| / max |value| per tensor, against what PyTorch's step "
             "and the framework's batch-norm settings (second table) predict.", "",
             "| framework | size | logits, inference | logits, training | loss | gradients | gradients vs float64 "
             "| weights after the step | running statistics vs prediction |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for fw in fws:
        for size, d in results["frameworks"][fw]["sizes"].items():
            lines.append(f"| {fw} | {size} | {_figure(d['inference'])} | {_figure(d['training'])} | "
                         f"{d['loss_value']:.5f} | {_figure(d['gradients'])} | {_figure(d['float64_gradients'])} | "
                         f"{_figure(d['step'])} | {_figure(d['statistics'])} |")
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


def _cpu_name():
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", metavar="DIR", help="also write same_function.json and .md into DIR")
    parser.add_argument("--serve", nargs=2, metavar=("FRAMEWORK", "FD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args.serve[0], Connection(int(args.serve[1])))
    results = run()
    results["date"] = datetime.date.today().isoformat()
    results["machine"] = f"{_cpu_name()}, {os.cpu_count()} cores"
    print(report(results))
    if args.save:
        save(results, args.save)
    bad = verdict(results)
    for where, size, measure, value in bad:
        print(f"PAST THE LIMIT: {where} at {size}x{size}: {measure} {value:.2e}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
