"""PyTorch's GPU path, exercised on the CPU: device-resident batches and the opt-in fast mode."""
import numpy as np
import pytest

from notebook_code import build_namespace


pytestmark = pytest.mark.frameworks("torch")


def test_device_resident_batches_equal_the_host_batches(d2l, framework):
    import torch
    _, test_iter = d2l.load_data_fashion_mnist(100, resize=32)
    resident = d2l._DeviceResident(test_iter, torch.device("cpu"))
    assert len(resident) == len(test_iter) and resident.num_examples == test_iter.num_examples
    for (X1, y1), (X2, y2) in zip(test_iter, resident):
        assert X1.shape == X2.shape and torch.allclose(X1, X2) and torch.equal(y1, y2)
    train_iter, _ = d2l.load_data_fashion_mnist(100, resize=32)
    labels = torch.cat([y for _, y in d2l._DeviceResident(train_iter, torch.device("cpu"))])
    assert sorted(labels.tolist()) == sorted(train_iter.labels.tolist())  # a permutation


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
