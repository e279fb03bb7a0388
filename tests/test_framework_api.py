"""Each framework module: batches as that framework's tensors, devices, and clear errors."""
import numpy as np
import pytest

from d2l_compat.common.layout import layout_of
from notebook_code import build_namespace

SMOKE_EXAMPLES = (64, 64)


def test_loader_yields_framework_tensors_in_its_layout(d2l, framework):
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, resize=96)
    assert (train_iter.num_examples, test_iter.num_examples) == SMOKE_EXAMPLES  # conftest: smoke
    X, y = next(iter(test_iter))
    assert type(X).__module__.split(".")[0] in {framework, "mindspore", "keras", "tensorflow"}
    expected = (32, 96, 96, 1) if layout_of(framework) == "NHWC" else (32, 1, 96, 96)
    assert tuple(X.shape) == expected and tuple(d2l.nchw_shape(X.shape)) == (32, 1, 96, 96)
    values = np.asarray(X.asnumpy() if hasattr(X, "asnumpy") else X.numpy())
    assert values.dtype == np.float32 and 0.0 <= values.min() and values.max() <= 1.0
    labels = np.asarray(y.asnumpy() if hasattr(y, "asnumpy") else y.numpy())
    assert labels.min() >= 0 and labels.max() <= 9 and labels.dtype.kind == "i"


def test_test_iterator_order_is_fixed(d2l):
    _, test_iter = d2l.load_data_fashion_mnist(100)
    first = [np.asarray(y.asnumpy() if hasattr(y, "asnumpy") else y.numpy()) for _, y in test_iter]
    second = [np.asarray(y.asnumpy() if hasattr(y, "asnumpy") else y.numpy()) for _, y in test_iter]
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), ("256", TypeError)])
def test_bad_batch_size(d2l, batch_size, error):
    with pytest.raises(error, match="batch_size must be a positive integer"):
        d2l.load_data_fashion_mnist(batch_size)


@pytest.mark.parametrize("resize, error", [(0, ValueError), (-96, ValueError), (9.6, TypeError)])
def test_bad_resize(d2l, resize, error):
    with pytest.raises(error, match="resize must be a positive integer"):
        d2l.load_data_fashion_mnist(256, resize=resize)


def test_try_gpu_on_this_machine_and_bad_indices(d2l):
    device = d2l.try_gpu()
    assert "cpu" in str(getattr(device, "_device_name", device)).lower() or "gpu" in str(device).lower() \
        or "cuda" in str(device).lower()
    with pytest.raises(ValueError, match="0 or larger"):
        d2l.try_gpu(-1)
    with pytest.raises(TypeError, match="GPU index must be an int"):
        d2l.try_gpu("0")


def test_wrong_net_is_a_type_error(d2l, framework):
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    wrong = object() if framework != "tensorflow" else (lambda: object())
    with pytest.raises(TypeError, match="must (be|return) a"):
        d2l.train_ch6(wrong, train_iter, test_iter, 1, 0.05, d2l.try_gpu())
    with pytest.raises(TypeError):
        d2l.evaluate_accuracy_gpu(object(), test_iter)


def test_wrong_device_is_a_type_error(d2l, framework):
    namespace = build_namespace(framework)
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    with pytest.raises(TypeError, match="device must be"):
        d2l.train_ch6(namespace["net"], train_iter, test_iter, 1, 0.05, "the blue one")


@pytest.mark.parametrize("num_epochs, lr, error", [(0, 0.05, ValueError), (1, -0.1, ValueError),
                                                   (1.5, 0.05, TypeError), (1, "fast", TypeError)])
def test_bad_epochs_or_learning_rate(d2l, framework, num_epochs, lr, error):
    namespace = build_namespace(framework)
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    with pytest.raises(error, match="num_epochs|lr"):
        d2l.train_ch6(namespace["net"], train_iter, test_iter, num_epochs, lr, d2l.try_gpu())
