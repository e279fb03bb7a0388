"""The batch-norm momentum the notebooks state is what each framework's default layer does.

The notebooks' sentence is written by tools/quote_results.py from its BN_DEFAULTS table
(tests/test_quoted_results.py keeps the prose equal to it); here a fresh layer of each framework,
built with its defaults, runs one training step on a known batch, starting from running mean 0,
so the running mean moves to momentum x batch mean in PyTorch's convention.
"""
import importlib.util
import inspect

import numpy as np
import pytest

from notebook_code import ROOT

spec = importlib.util.spec_from_file_location("quote_results", ROOT / "tools" / "quote_results.py")
quote_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quote_results)
BN_DEFAULTS = quote_results.BN_DEFAULTS

BATCH = (np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4) % 7 + np.array(
    [1.0, 5.0, -3.0], np.float32)[:, None, None])  # NCHW, channel means far from 0
BATCH_MEAN = BATCH.mean(axis=(0, 2, 3))


def torch_step(backward):
    import torch
    layer = torch.nn.BatchNorm2d(3)
    layer.train()
    out = layer(torch.from_numpy(BATCH))
    if backward:
        out.sum().backward()
    return torch.nn.BatchNorm2d, layer.running_mean.numpy()


def mxnet_step(backward):
    import d2l_compat.mxnet  # noqa: F401  (NumPy aliases before MXNet)
    from mxnet import autograd, np as mnp, npx
    from mxnet.gluon import nn
    npx.set_np()
    layer = nn.BatchNorm()
    layer.initialize()
    with autograd.record():
        out = layer(mnp.array(BATCH))
    if backward:
        out.backward()
    npx.waitall()
    return nn.BatchNorm, layer.running_mean.data().asnumpy()


def tensorflow_step(backward):
    import d2l_compat.tensorflow  # noqa: F401  (quiet start-up)
    import tensorflow as tf
    layer = tf.keras.layers.BatchNormalization()
    x = tf.constant(BATCH.transpose(0, 2, 3, 1))  # NHWC
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x, training=True))
    if backward:
        tape.gradient(out, layer.trainable_variables)
    return tf.keras.layers.BatchNormalization, layer.moving_mean.numpy()


def paddle_step(backward):
    import paddle
    layer = paddle.nn.BatchNorm2D(3)
    layer.train()
    out = layer(paddle.to_tensor(BATCH))
    if backward:
        out.sum().backward()
    return paddle.nn.BatchNorm2D, layer._mean.numpy()


def mindspore_step(backward):
    import d2l_compat.mindspore  # noqa: F401  (quiet logs)
    import mindspore as ms
    from mindspore import nn
    layer = nn.BatchNorm2d(3)
    layer.set_train(True)
    x = ms.Tensor(BATCH)
    if backward:
        ms.grad(lambda t: layer(t).sum())(x)
    else:
        layer(x)
    return nn.BatchNorm2d, layer.moving_mean.asnumpy()


STEPS = {"torch": torch_step, "mxnet": mxnet_step, "tensorflow": tensorflow_step, "paddle": paddle_step,
         "mindspore": mindspore_step}


def moved(running_mean):
    """How far one step moved the running mean, as a fraction of the batch mean (per channel)."""
    return running_mean.astype(np.float64) / BATCH_MEAN


def test_the_table_covers_every_framework_in_one_convention():
    assert set(BN_DEFAULTS) == set(STEPS)
    for stated in BN_DEFAULTS.values():
        own = 1 - stated["default"] if stated["keeps_old"] else stated["default"]
        assert stated["momentum"] == pytest.approx(own)


def test_one_training_step_moves_the_running_mean_by_the_stated_momentum(d2l, framework):
    stated = BN_DEFAULTS[framework]
    layer_class, running_mean = STEPS[framework](backward=True)
    default = inspect.signature(layer_class).parameters[stated["argument"]].default
    assert default == pytest.approx(stated["default"]), f"{framework}'s layer default is {default}"
    np.testing.assert_allclose(moved(running_mean), stated["momentum"], rtol=1e-4,
                               err_msg=f"{framework}: running mean / batch mean after one step")


def test_where_the_running_mean_is_updated(d2l, framework):
    """Forward alone updates it, except in MXNet, which updates it in the backward pass."""
    _, running_mean = STEPS[framework](backward=False)
    expected = 0.0 if BN_DEFAULTS[framework].get("update") == "backward" else BN_DEFAULTS[framework]["momentum"]
    np.testing.assert_allclose(moved(running_mean), expected, rtol=1e-4, atol=1e-7)
