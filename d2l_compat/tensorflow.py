"""d2l's helpers for the TensorFlow (Keras) ResNet chapter: `from d2l_compat import tensorflow as d2l`.

Batches are NHWC (channels last), the layout Keras convolutions expect.
"""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table"]

import os
import weakref

from .common import resident
from .common.checks import gpu_index, instance_of, training_args
from .common.data import load_data_fashion_mnist as _load
from .common.frameworks import require
from .common.layout import nchw_shape_for
from .common.metrics import accuracy
from .common.public import (Accumulator, Animator, RESNET_VARIANTS, Timer,  # noqa: F401
                            classroom_preset, resnet_multiply_adds, resnet_parameters, resnet_table)
from .common.training import fit

# TensorFlow's C++ start-up lines go to the terminal, not to Jupyter; silence them so that a
# notebook looks the same in JupyterLab and under nbval.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = require("tensorflow", "TensorFlow", quiet=True)

FRAMEWORK = "tensorflow"
nchw_shape = nchw_shape_for(FRAMEWORK)


def _to_batch(X, y):
    return tf.convert_to_tensor(X), tf.convert_to_tensor(y)


def _resident_data(device_name):
    """train_ch6's data kept on `device_name`: uint8 uploaded once, batches gathered and scaled there."""
    def upload(a):
        with tf.device(device_name):
            return tf.identity(a)

    def take(images, labels, index):
        return tf.cast(tf.gather(images, index)[..., None], tf.float32) * (1 / 255), tf.gather(labels, index)
    return resident.DeviceHooks(upload=upload, take=take)


def load_data_fashion_mnist(batch_size, resize=None):
    """Return (train_iter, test_iter) over Fashion-MNIST, batches NHWC, read from local files."""
    return _load(batch_size, resize, FRAMEWORK, _to_batch)


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    count = len(tf.config.list_physical_devices('GPU'))
    i = gpu_index(i, count)
    return tf.device(f'/GPU:{i}') if count > i else tf.device('/CPU:0')


def _device_name(device):
    name = getattr(device, "_device_name", None)
    if not isinstance(name, str):
        raise TypeError(f"device must be a tf.device(...) such as d2l.try_gpu(), got {device!r}")
    return name


def _check_net(net):
    instance_of(net, tf.keras.Model, "net_fn must return a tf.keras.Model")


_COUNTERS = weakref.WeakKeyDictionary()  # net -> its compiled counting function


def _count_correct(net):
    """A compiled function counting net's right answers on a batch, built once per net."""
    if net not in _COUNTERS:
        net_ref = weakref.ref(net)  # a strong reference here would keep every evaluated net alive

        @tf.function(reduce_retracing=True)
        def count(X, y):
            y_hat = net_ref()(X, training=False)
            return tf.reduce_sum(tf.cast(tf.argmax(y_hat, axis=1, output_type=y.dtype) == y, tf.int32))
        _COUNTERS[net] = count
    return _COUNTERS[net]


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset (inference mode, on `device` if given)."""
    _check_net(net)
    with tf.device(_device_name(device) if device is not None else None):
        return accuracy(data_iter, _count_correct(net))


def _make_trainer(net_fn, lr, device):
    """Build the net on `device`; return (step, evaluate, device name, net) for the shared loop."""
    if not callable(net_fn):
        raise TypeError(f"net_fn must be a function that builds the network, got {net_fn!r}")
    device_name = _device_name(device)
    with tf.device(device_name):
        net = net_fn()  # Keras layers start with Glorot (Xavier) uniform weights
        _check_net(net)
        optimizer = tf.keras.optimizers.SGD(learning_rate=lr)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def train_step(X, y):
            with tf.GradientTape() as tape:
                y_hat = net(X, training=True)
                l = loss(y, y_hat)
            grads = tape.gradient(l, net.trainable_variables)
            optimizer.apply_gradients(zip(grads, net.trainable_variables))
            correct = tf.reduce_sum(tf.cast(tf.argmax(y_hat, axis=1, output_type=y.dtype) == y, tf.int32))
            return l, correct

        def step(X, y):
            if not net.built:
                net(X[:1])
                optimizer.build(net.trainable_variables)
            l, correct = train_step(X, y)
            return l * int(X.shape[0]), correct, int(X.shape[0])

    return step, lambda it: evaluate_accuracy_gpu(net, it, device), device_name, net


def train(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """train_ch6's work; returns (net, TrainingSummary)."""
    num_epochs, lr = training_args(num_epochs, lr)
    step, evaluate, device_name, net = _make_trainer(net_fn, lr, device)
    with tf.device(device_name):
        on_gpu = tf.DeviceSpec.from_string(device_name).device_type == "GPU"
        train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device_name), on_gpu)
        return net, fit(step, evaluate, device_name, train_iter, test_iter, num_epochs)


def train_ch6(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """Train a model with a GPU (defined in Chapter 6); returns the trained net."""
    return train(net_fn, train_iter, test_iter, num_epochs, lr, device)[0]
