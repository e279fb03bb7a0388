"""`make bench-tf-gradient`: why TensorFlow trains slowly on some CPUs, measured on this one.

    python bench/tf_gradient.py [--out FOLDER]

TensorFlow's Linux build turns its oneDNN kernels on by default only for CPUs with AVX512_VNNI,
AVX512_BF16, AVX_VNNI or AMX (DefaultOneDnnPolicy, tensorflow/core/util/port.cc). Without them the
gradient of a 3x3 convolution with respect to its input is Eigen's Conv2DBackpropInput, which is slow
on the last stage's small maps. Each setting of TF_ENABLE_ONEDNN_OPTS (read once, at the import) runs
in a process of its own and measures, at batch 64:

- Conv2DBackpropInput alone, 3x3, 512 to 512 channels, on 1x1, 2x2 and 4x4 maps;
- the same layer's forward and backward in four formulations of one function with the same weights:
  'SAME' padding, explicit padding, tf.pad + 'VALID', and im2col (extract_patches + one matmul);
- the notebook's ResNet-18 training step at 28x28, as train_ch6 runs it, in both of its modes.

Writes bench/results/tf_gradient.json and .md and the README's table between the tf-gradient markers.
"""
import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MARKERS = ("<!-- tf-gradient:start -->", "<!-- tf-gradient:end -->")
SIZES = (1, 2, 4)
FORMS = ("same", "explicit", "pad_valid", "im2col")
REPEATS = 7


def measure():
    """This process's figures (milliseconds, medians of REPEATS after one warm-up call)."""
    import contextlib
    import io
    import statistics
    import time

    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from d2l_compat import tensorflow as d2l  # sets TF_ENABLE_ONEDNN_OPTS's default before the import
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port
    from notebook_code import build_namespace

    def median_ms(f, *args):
        f(*args)
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            [t.numpy() for t in tf.nest.flatten(f(*args))]
            times.append(time.perf_counter() - start)
        return round(statistics.median(times) * 1000, 1)

    rng = np.random.default_rng(0)
    W = tf.Variable(rng.normal(size=(3, 3, 512, 512)).astype("float32") * 0.02)
    pad = [[0, 0], [1, 1], [1, 1], [0, 0]]
    forms = {
        "same": lambda x: tf.nn.conv2d(x, W, 1, "SAME"),
        "explicit": lambda x: tf.nn.conv2d(x, W, 1, pad),
        "pad_valid": lambda x: tf.nn.conv2d(tf.pad(x, pad), W, 1, "VALID"),
        "im2col": lambda x: tf.reshape(
            tf.matmul(tf.reshape(tf.image.extract_patches(tf.pad(x, pad), [1, 3, 3, 1], [1] * 4, [1] * 4, "VALID"),
                                 [-1, 9 * 512]), tf.reshape(W, [9 * 512, 512])), tf.shape(x)),
    }

    def gradients(conv):
        @tf.function
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = conv(x)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, W])
        return run

    backprop = tf.function(lambda x: tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.shape(x), filter=W, out_backprop=x, strides=[1, 1, 1, 1], padding="SAME"))
    record = {"onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()), "backprop_input_ms": {}, "layer_ms": {}}
    for size in SIZES:
        x = tf.constant(rng.normal(size=(64, size, size, 512)).astype("float32"))
        record["backprop_input_ms"][f"{size}x{size}"] = median_ms(backprop, x)
        record["layer_ms"][f"{size}x{size}"] = {name: median_ms(gradients(f), x) for name, f in forms.items()}
        same, im2col = (gradients(forms[k])(x) for k in ("same", "im2col"))
        record.setdefault("im2col_max_difference", 0.0)
        record["im2col_max_difference"] = max(record["im2col_max_difference"], max(
            float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(a))) for a, b in zip(same, im2col)))
    with contextlib.redirect_stdout(io.StringIO()):
        build = build_namespace("tensorflow")["net"]
    d2l.classroom_preset(False)
    X = tf.constant(rng.random((64, 28, 28, 1), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, 64))
    record["step_ms"] = {}
    for mode in (m.name for m in d2l.MODES):
        step = d2l._make_trainer(build, 0.05, d2l.try_gpu())[0]
        record["step_ms"][mode] = median_ms(lambda X, y: step._run(mode, X, y)[:2], X, y)
    return record


def table(data):
    """The Markdown summary (tf_gradient.md and the README)."""
    from d2l_compat.common.cpu import summary
    runs = data["runs"]
    head = " | ".join(f"oneDNN {'on' if runs[k]['onednn_enabled'] else 'off'} (`TF_ENABLE_ONEDNN_OPTS={k}`)"
                      for k in runs)
    lines = [f"Measured {data['date']} on {summary(data['machine'])}, TensorFlow {data['tensorflow']}, by "
             "`make bench-tf-gradient`; milliseconds at batch 64, medians of "
             f"{REPEATS} calls; TensorFlow's own default here: oneDNN "
             f"{'on' if data['default_onednn'] else 'off'}.", "",
             f"| what | {head} |", "|---|" + "---:|" * len(runs)]
    for size in SIZES:
        key = f"{size}x{size}"
        lines.append(f"| `Conv2DBackpropInput`, 3×3, 512 channels, {key} maps | "
                     + " | ".join(f"{runs[k]['backprop_input_ms'][key]:.0f}" for k in runs) + " |")
    for size in SIZES:
        key = f"{size}x{size}"
        for form in FORMS:
            lines.append(f"| that layer's forward + backward, {key}, {form.replace('_', ' + ')} | "
                         + " | ".join(f"{runs[k]['layer_ms'][key][form]:.0f}" for k in runs) + " |")
    for mode in next(iter(runs.values()))["step_ms"]:
        lines.append(f"| ResNet-18 training step, 28×28, mode `{mode}` | "
                     + " | ".join(f"{runs[k]['step_ms'][mode]:.0f}" for k in runs) + " |")
    worst = max(r["im2col_max_difference"] for r in runs.values())
    lines += ["", f"im2col computes the same function: its output and gradients differ from 'SAME' padding's by "
              f"at most {worst:.1e} of their largest value (float32 rounding)."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from run import machine, update_readme, write_atomically
    runs = {}
    for setting in ("0", "1"):
        print(f"TF_ENABLE_ONEDNN_OPTS={setting} ...", flush=True)
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "2"}
        out = subprocess.run([sys.executable, __file__, "--one"], env=env, capture_output=True, text=True,
                             cwd=ROOT, timeout=1800)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        runs[setting] = json.loads(out.stdout.strip().splitlines()[-1])
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    default = subprocess.run([sys.executable, "-c", "from tensorflow.python.util import _pywrap_util_port as p; "
                              "print(int(p.IsMklEnabled()))"], env=env, capture_output=True, text=True, timeout=300)
    version = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(tf.__version__)"],
                             env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True, timeout=300)
    data = {"date": datetime.date.today().isoformat(), "machine": machine(), "tensorflow": version.stdout.strip(),
            "default_onednn": default.stdout.strip().endswith("1"), "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / "tf_gradient.json", json.dumps(data, indent=1) + "\n")
    text = table(data)
    write_atomically(args.out / "tf_gradient.md", text + "\n")
    if args.out.resolve() == RESULTS.resolve():
        update_readme(text, MARKERS)
    print(text)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        import contextlib
        with contextlib.redirect_stdout(sys.stderr):
            result = measure()
        print(json.dumps(result))
    else:
        sys.exit(main())
