"""The data set kept on the device (common/resident.py): the host pipeline's batches, chosen only on a GPU."""
import numpy as np
import pytest

from d2l_compat.common import resident
from d2l_compat.common.data import Batches


def _arrays(n=70, size=12):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int32)


def _numpy_hooks(log):
    """A NumPy "device" that records what is uploaded."""
    def upload(a):
        log.append(a.dtype)
        return a.copy()
    return resident.DeviceHooks(upload=upload,
                                take=lambda im, lab, idx: (im[idx][:, None].astype(np.float32) / 255, lab[idx]))


@pytest.mark.parametrize("shuffle", [True, False])
def test_resident_batches_follow_the_host_order_pass_after_pass(shuffle):
    images, labels = _arrays()
    host = Batches(images, labels, 32, shuffle, "torch", lambda X, y: (X, y), seed=5)
    log = []
    on_device = resident.DeviceResident(Batches(images, labels, 32, shuffle, "torch", None, seed=5), _numpy_hooks(log))
    assert len(on_device) == len(host) == 3 and on_device.num_examples == 70
    for _ in range(3):  # every pass reshuffles, with the host's generator
        expected, got = list(host), list(on_device)
        assert [len(y) for _, y in got] == [32, 32, 6]
        for (X1, y1), (X2, y2) in zip(expected, got, strict=True):
            np.testing.assert_allclose(X1, X2, rtol=1e-6)
            np.testing.assert_array_equal(y1, y2)
    # images and labels went up once, as they are; afterwards only one order per pass (shuffling)
    assert log[:2] == [np.uint8, np.int32]
    assert log[2:] == [np.int64] * (3 if shuffle else 1)


def test_place_keeps_the_host_pipeline_off_a_gpu_or_when_it_does_not_fit():
    images, labels = _arrays()
    pair = (Batches(images, labels, 32, True, "torch", None), Batches(images, labels, 32, False, "torch", None))
    need = sum(b.images.nbytes + b.labels.nbytes for b in pair)

    def hooks(free):
        return resident.DeviceHooks(upload=np.asarray, take=None, free_bytes=lambda: free)

    assert resident.place(pair, hooks(None), on_gpu=False) == pair
    assert resident.place(pair, hooks(need * resident.HEADROOM - 1), on_gpu=True) == pair
    ready = [(images[:32], labels[:32])]  # a list of ready batches, not Batches: left as it is
    assert resident.place((ready, pair[1]), hooks(None), on_gpu=True) == (ready, pair[1])
    for free in (None, need * resident.HEADROOM):
        placed = resident.place(pair, hooks(free), on_gpu=True)
        assert all(isinstance(p, resident.DeviceResident) and p.on_device for p in placed)


# ---- each framework's hooks, with its CPU standing in for the GPU (and on the GPU, where there is one)

CPU = {"torch": lambda d2l: d2l.torch.device("cpu"), "tensorflow": lambda d2l: d2l.tf.device("/CPU:0"),
       "mxnet": lambda d2l: d2l.mx.cpu(), "paddle": lambda d2l: d2l.paddle.CPUPlace(), "mindspore": lambda d2l: "CPU"}


def _device(d2l, framework, where):
    device = CPU[framework](d2l) if where == "cpu" else d2l.try_gpu()
    if "cpu" in str(getattr(device, "_device_name", device)).lower() and where == "gpu":
        pytest.skip(f"{framework} sees no GPU here")
    return device


def _numpy(t):
    return np.asarray(t.asnumpy() if hasattr(t, "asnumpy") else t.numpy())


@pytest.mark.parametrize("where", ["cpu", "gpu"])
def test_framework_hooks_give_the_host_pipeline_batches(d2l, framework, where):
    images, labels = _arrays()
    host = Batches(images, labels, 32, True, framework, d2l._to_batch, seed=9)
    device = _device(d2l, framework, where)
    on_device = resident.DeviceResident(Batches(images, labels, 32, True, framework, None, seed=9),
                                        d2l._resident_data(d2l._device_name(device) if framework == "tensorflow" else device))
    for _ in range(2):
        for (X1, y1), (X2, y2) in zip(host, on_device, strict=True):
            assert type(X1) is type(X2) and tuple(X1.shape) == tuple(X2.shape) and str(y1.dtype) == str(y2.dtype)
            np.testing.assert_array_equal(_numpy(X1), _numpy(X2))  # the same scaling, bit for bit
            np.testing.assert_array_equal(_numpy(y1), _numpy(y2))


class _FakeCUDAPlace:
    """Paddle's CPU build cannot make a CUDAPlace; this stands in for one."""

    def __init__(self, i):
        self.i = i

    def get_device_id(self):
        return self.i


def _fake_gpu(framework, monkeypatch):
    if framework == "torch":
        import torch
        return torch.device("cuda:0")
    if framework == "tensorflow":
        import tensorflow as tf
        return tf.device("/GPU:0")
    if framework == "mxnet":
        import mxnet as mx
        return mx.gpu(0)
    if framework == "paddle":
        import paddle
        monkeypatch.setattr(paddle, "CUDAPlace", _FakeCUDAPlace)
        return _FakeCUDAPlace(0)
    return "GPU:0"


@pytest.mark.parametrize("on_gpu", [True, False])
def test_train_hands_the_data_to_the_device_only_on_a_gpu(d2l, framework, monkeypatch, on_gpu):
    device = _fake_gpu(framework, monkeypatch) if on_gpu else CPU[framework](d2l)
    name = d2l._device_name(device) if framework == "tensorflow" else device
    trainer = ("step", "evaluate", name) + (("net",) if framework == "tensorflow" else ())
    monkeypatch.setattr(d2l, "_make_trainer", lambda *args, **kwargs: trainer)  # no real training on a fake GPU
    asked = {}

    def place(iters, hooks, gpu):
        asked.update(hooks=hooks, on_gpu=gpu)
        return iters
    monkeypatch.setattr(d2l.resident, "place", place)
    monkeypatch.setattr(d2l, "fit", lambda *args, **kwargs: args)
    d2l.train(object(), "train_iter", "test_iter", 1, 0.05, device)
    assert asked["on_gpu"] is on_gpu and isinstance(asked["hooks"], resident.DeviceHooks)
