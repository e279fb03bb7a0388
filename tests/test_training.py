"""Each framework's ResNet-18, built by its notebook's own code, learns on real Fashion-MNIST.

A short run in the classroom's recipe, scaled down: 2048 images at 28x28, one pass in batches of 32,
SGD with momentum 0.9 and a one-cycle rate peaking at the notebook's lr; tested on 1000 images. Enough
to tell learning from guessing (10 %) on a slow 2-core CPU without a long run (the earlier settings,
4096 images for two or three epochs of plain SGD, took 388 s in TensorFlow alone on a Zen 3 without
AVX-512). The accuracy over the pass (train acc) must be above 0.25 and the test accuracy above 0.2,
where guessing scores 0.10 +- 0.01: the spread over repeated runs and thread counts is in
bench/results/test_margins.md (lowest seen: 0.375 and 0.29, in one MXNet run; the others 0.41 and 0.53).
Keras keeps batch-norm statistics with momentum 0.99 (the others 0.1), so after 64 steps TensorFlow's
running statistics still lag the weights and its test accuracy says nothing about learning (0.10-0.23
measured): TensorFlow is judged on its training accuracy only.
"""
import re

import pytest

from d2l_compat.common import presets, schedule
from notebook_code import build_namespace

SHORT_RUN = presets.Preset("test", train_size=2048, test_size=1000, num_epochs=1, resize=None, batch_size=32,
                           cycle=schedule.OneCycle(momentum=0.9, warmup=0.3))
SLOW_RUNNING_STATISTICS = {"tensorflow"}  # Keras' BatchNormalization momentum 0.99 (PyTorch's convention: 0.01)
RESULT_LINE = re.compile(r"^loss \d+\.\d{3}, train acc [01]\.\d{3}, test acc [01]\.\d{3}$")
SPEED_LINE = re.compile(r"^\d+\.\d examples/sec on \S+$")


@pytest.fixture
def short_run(monkeypatch):
    monkeypatch.setattr(presets, "active_preset", lambda: SHORT_RUN)


def train_short_run(d2l, framework):
    """Train the notebook's net under the active preset (SHORT_RUN here and in bench/test_margins.py); its summary."""
    net = build_namespace(framework)["net"]
    train_iter, test_iter = d2l.load_data_fashion_mnist(32)
    result = d2l.train(net, train_iter, test_iter, 10, 0.05, d2l.try_gpu())
    return result[1] if isinstance(result, tuple) else result


def test_resnet18_learns_and_prints_the_documents_lines(d2l, framework, short_run, capsys):
    summary = train_short_run(d2l, framework)
    lines = capsys.readouterr().out.strip().splitlines()
    print("\n".join(lines))
    assert RESULT_LINE.match(lines[-2]) and SPEED_LINE.match(lines[-1]), lines[-2:]
    assert lines[-1].endswith(f"on {summary.device}")
    assert summary.epochs == SHORT_RUN.epochs_for(framework) and summary.examples_per_sec > 0
    assert summary.train_acc > 0.25, f"training accuracy {summary.train_acc:.3f}: not clearly above guessing"
    if framework not in SLOW_RUNNING_STATISTICS:
        assert summary.test_acc > 0.2, f"test accuracy {summary.test_acc:.3f}: not clearly above guessing"
    # the loss curve exercise 6 plots: its points advance to the end of training, and the loss falls
    epochs, losses = zip(*summary.loss_curve)
    assert len(epochs) >= 10 and list(epochs) == sorted(epochs) and epochs[-1] == summary.epochs
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, f"the training loss did not fall: {losses}"
