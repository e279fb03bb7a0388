"""Each framework's ResNet-18, built by its notebook's own code, learns on real Fashion-MNIST.

A short run at 28x28 on a subset: enough to tell learning from guessing (10 %) on a 2-core CPU.
TensorFlow gets a third epoch: Keras' BatchNormalization keeps its running statistics with
momentum 0.99, so its test accuracy (computed with those statistics) lags its training. Measured
here: 2048 images x 2 epochs scattered from 0.38 to 0.70 over eight runs (one CI run read 0.34),
4096 x 2 from 0.57 to 0.74 over eleven, 4096 x 3 from 0.69 to 0.82 over eight. The other
frameworks at 4096 x 2 read 0.68-0.81 (fourteen runs; 0.54-0.78 at 2048 x 2).
"""
import re

import pytest

from d2l_compat.common import presets
from notebook_code import build_namespace

SHORT_RUN = presets.Preset("test", train_size=4096, test_size=1000, num_epochs=2, resize=None,
                            epochs_by_framework=(("tensorflow", 3),))
RESULT_LINE = re.compile(r"^loss \d+\.\d{3}, train acc [01]\.\d{3}, test acc [01]\.\d{3}$")
SPEED_LINE = re.compile(r"^\d+\.\d examples/sec on \S+$")


@pytest.fixture
def short_run(monkeypatch):
    monkeypatch.setattr(presets, "active_preset", lambda: SHORT_RUN)


def test_resnet18_learns_and_prints_the_documents_lines(d2l, framework, short_run, capsys):
    namespace = build_namespace(framework)
    capsys.readouterr()
    train_iter, test_iter = d2l.load_data_fashion_mnist(32)
    result = d2l.train(namespace["net"], train_iter, test_iter, 10, 0.05, d2l.try_gpu())
    summary = result[1] if isinstance(result, tuple) else result
    lines = capsys.readouterr().out.strip().splitlines()
    print("\n".join(lines))
    assert RESULT_LINE.match(lines[-2]) and SPEED_LINE.match(lines[-1]), lines[-2:]
    assert lines[-1].endswith(f"on {summary.device}")
    assert summary.epochs == SHORT_RUN.epochs_for(framework) and summary.examples_per_sec > 0
    assert summary.test_acc > 0.4, f"test accuracy {summary.test_acc:.3f}: not clearly above guessing"
    assert summary.loss < 2.0
