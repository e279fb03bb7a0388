"""Each execution mode train_ch6 may choose (common/modes.py) takes the same step: from the same
weights and batch, every mode computes the same loss and moves the weights the same way."""
import numpy as np
import pytest

from d2l_compat.common import modes, schedule
from notebook_code import build_namespace

# The modes order their sums differently (XLA fuses, graphs reorder, layouts block), and one step's
# gradients pass through batch statistics of as few as 32 values, which amplify that rounding
# (bench/results/same_function_repeats.md): the loss is compared to 1e-3, the update by its direction
# and length. A mode that skips the update, scales the rate or trains another net fails both.
LOSS = 1e-3
COSINE = 0.99
LENGTH = 0.05


def one_step(d2l, framework, mode, start, batch, tmp_path):
    """From the weights in `start`, one step of the notebook's net in `mode`: (loss, weight change)."""
    build = build_namespace(framework)["net"]
    made = d2l._make_trainer(build, 0.05, d2l.try_gpu(), schedule.constant(0.05))
    net = made[3] if framework == "tensorflow" else build
    d2l.import_weights(net, start)  # before any step: a compiled step keeps the BN epsilon it was traced with
    step = made[0]
    step.use(mode)
    X, y = batch
    loss = float(step(X, y)[0]) / int(X.shape[0])
    after = tmp_path / f"after-{mode}.npz"
    d2l.export_weights(net, after)
    with np.load(start) as a, np.load(after) as b:
        change = np.concatenate([(b[k].astype(np.float64) - a[k]).ravel() for k in sorted(a.files)
                                 if a[k].dtype.kind == "f"])
    return loss, change


def test_every_mode_takes_the_same_step(d2l, framework, tmp_path):
    names = [mode.name for mode in d2l.MODES]
    assert len(set(names)) == len(names) and all(isinstance(m, modes.Mode) for m in d2l.MODES)
    start = tmp_path / "start.npz"
    d2l.export_weights(build_namespace(framework)["net"], start)
    batch = next(iter(d2l.load_data_fashion_mnist(32)[0]))  # smoke preset: 28x28
    steps = {mode: one_step(d2l, framework, mode, start, batch, tmp_path) for mode in names}
    loss, change = steps[names[0]]
    assert np.linalg.norm(change) > 0, "the default mode's step left the weights as they were"
    for mode, (other_loss, other_change) in steps.items():
        cosine = other_change @ change / (np.linalg.norm(other_change) * np.linalg.norm(change))
        length = np.linalg.norm(other_change) / np.linalg.norm(change)
        assert abs(other_loss - loss) <= LOSS * abs(loss), (mode, other_loss, names[0], loss)
        assert cosine > COSINE and abs(length - 1) < LENGTH, (mode, cosine, length)


def test_train_mode_accepts_the_modules_modes_and_names_them_when_refusing(d2l, framework):
    d2l.train_mode(d2l.MODES[-1].name)
    try:
        assert modes.fixed_mode(framework) == d2l.MODES[-1].name
    finally:
        d2l.train_mode("auto")
    assert modes.fixed_mode(framework) is None
    with pytest.raises(ValueError, match=f"not a mode of {framework}; choose 'auto' or one of '{d2l.MODES[0].name}'"):
        d2l.train_mode("fastest")
