"""The training step train_ch6 runs (compiled where that won: MindSpore's GRAPH_MODE) really trains,
takes its learning rate from the optimizer plan at every step, and leaves the notebook as it was."""
import dataclasses

import numpy as np
import pytest

from d2l_compat.common import schedule
from notebook_code import build_namespace

LAST_WEIGHT = {  # the final dense layer's weight as NumPy, read the framework's way
    "torch": lambda net: net[-1].weight.detach().numpy().copy(),
    "mxnet": lambda net: net[-1].weight.data().asnumpy().copy(),
    "tensorflow": lambda net: net.layers[-1].kernel.numpy().copy(),
    "paddle": lambda net: net[-1].weight.numpy().copy(),
    "mindspore": lambda net: net[-1].weight.asnumpy().copy(),
}


@dataclasses.dataclass
class GivenRates(schedule.Plan):
    """A plan with the rates written out, one per step, and no momentum."""
    given: tuple = ()

    def rate(self, step):
        return self.given[min(step, len(self.given) - 1)]


@pytest.fixture
def setup(d2l, framework, capsys):
    def make(plan):
        net = build_namespace(framework)["net"]
        made = d2l._make_trainer(net, 0.05, d2l.try_gpu(), plan)
        capsys.readouterr()
        batch = next(iter(d2l.load_data_fashion_mnist(16)[0]))  # smoke preset: 28x28
        return made[0], (made[3] if framework == "tensorflow" else net), batch
    return make


STEPS = 12


def lowest_late_loss_ratio(losses):
    """min of the last four losses / the first: batch statistics of 16 images make the first steps jumpy
    (Paddle once went 2.7 -> 7.3 -> 1.4 in 8 steps), so the last few steps are judged, not the last one.
    Its spread over runs and thread counts: bench/results/test_margins.md."""
    return min(losses[-4:]) / losses[0]


def losses_on_one_batch(step, batch):
    """The mean loss of each of STEPS steps on the same batch (shared with bench/test_margins.py)."""
    X, y = batch
    return [float(step(X, y)[0]) / 16 for _ in range(STEPS)]


def test_the_step_lowers_the_loss_on_a_batch(setup):
    step, _, batch = setup(schedule.constant(0.05))
    losses = losses_on_one_batch(step, batch)
    assert lowest_late_loss_ratio(losses) < 0.5, losses


def test_the_step_takes_each_steps_rate_from_the_plan(setup, framework):
    step, net, (X, y) = setup(GivenRates(0.05, 4, given=(0.05, 0.0, 0.0, 0.05)))
    weights = []
    for _ in range(4):
        step(X, y)
        weights.append(LAST_WEIGHT[framework](net))
    assert np.array_equal(weights[0], weights[2]), "a step at learning rate 0 changed the weights"
    assert not np.allclose(weights[2], weights[3]), "a step at learning rate 0.05 left the weights as they were"


@pytest.mark.frameworks("mindspore")
def test_mindspore_trains_in_graph_mode_and_returns_to_pynative(d2l, framework, capsys):
    import mindspore as ms
    namespace = build_namespace(framework)
    net = namespace["net"]
    train_iter, test_iter = d2l.load_data_fashion_mnist(64)
    d2l.train(net, train_iter, test_iter, 1, 0.05)
    assert ms.get_context("mode") == ms.PYNATIVE_MODE
    X = ms.ops.randn(1, 1, 224, 224)
    for layer in net:  # the notebook's shape walk, layer by layer, still runs in PyNative
        X = layer(X)
    assert X.shape == (1, 10)


SOURCELESS = """
from mindspore import nn

class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.flatten, self.dense = nn.Flatten(), nn.Dense(28 * 28, 10)

    def construct(self, X):
        return self.dense(self.flatten(X))
"""


@pytest.mark.frameworks("mindspore")
def test_mindspore_falls_back_to_pynative_where_it_cannot_compile(d2l, framework, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the learner's notebook folder
    namespace = {}
    exec(compile(SOURCELESS, "<no source file>", "exec"), namespace)  # MindSpore's compiler cannot read it
    step, evaluate, _ = d2l._make_trainer(namespace["Net"](), 0.05, "CPU")
    X, y = next(iter(d2l.load_data_fashion_mnist(16)[0]))
    # A linear model on one batch of 16: convex, so the loss falls step after step; eight steps once
    # reached only 0.52 of the first loss, forty leave a wide margin under a half.
    losses = [float(step(X, y)[0]) / 16 for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0], losses
    assert 0 <= evaluate([(X, y)]) <= 1
    out = capsys.readouterr().out
    assert out.count("改用 PyNative 模式") == 2, out  # said once for the step, once for the evaluation
    assert not list(tmp_path.iterdir()), "MindSpore's failure report was left in the working folder"
