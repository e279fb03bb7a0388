"""PyTorch's opt-in fast mode, exercised on the CPU (the device-resident data: tests/test_resident.py)."""
import numpy as np
import pytest

from notebook_code import build_namespace


pytestmark = pytest.mark.frameworks("torch")


def test_fast_mode_trains_in_bfloat16_and_channels_last(d2l, framework, capsys):
    import torch
    net = build_namespace(framework)["net"]
    d2l.fast_mode(True)
    try:
        step, evaluate, _ = d2l._make_trainer(net, 0.05, torch.device("cpu"))
        train_iter, test_iter = d2l.load_data_fashion_mnist(32)
        losses = [float(step(X, y)[0]) / X.shape[0] for X, y in list(train_iter)[:6]]
        assert net[0][0].weight.is_contiguous(memory_format=torch.channels_last)
        assert np.isfinite(losses).all()
        assert 0.0 <= evaluate(test_iter) <= 1.0
    finally:
        d2l.fast_mode(False)
    with pytest.raises(TypeError, match="True or False"):
        d2l.fast_mode("yes")
