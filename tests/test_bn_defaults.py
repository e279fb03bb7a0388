"""The batch-norm momentum the notebooks state is what each framework's default layer does.

The notebooks' sentence is written by tools/quote_results.py from its BN_DEFAULTS table
(tests/test_quoted_results.py keeps the prose equal to it). Here each framework, in its own
process, measures a fresh default layer with `d2l.batch_norm_settings()` (one training step on a
known batch, momentum in PyTorch's convention), and the layer's own default argument is read.
"""
import importlib
import importlib.util
import inspect

import numpy as np
import pytest

from notebook_code import ROOT

spec = importlib.util.spec_from_file_location("quote_results", ROOT / "tools" / "quote_results.py")
quote_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quote_results)
BN_DEFAULTS = quote_results.BN_DEFAULTS
LAYERS = {"torch": "torch.nn.BatchNorm2d", "mxnet": "mxnet.gluon.nn.BatchNorm",
          "tensorflow": "tensorflow.keras.layers.BatchNormalization", "paddle": "paddle.nn.BatchNorm2D",
          "mindspore": "mindspore.nn.BatchNorm2d"}


def layer_class(framework):
    module, _, name = LAYERS[framework].rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_table_covers_every_framework_in_one_convention():
    assert set(BN_DEFAULTS) == set(LAYERS)
    for framework, stated in BN_DEFAULTS.items():
        own = 1 - stated["default"] if stated["keeps_old"] else stated["default"]
        assert stated["momentum"] == pytest.approx(own)
        assert LAYERS[framework].endswith(stated["layer"].rpartition(".")[2])


def test_the_stated_momentum_is_the_measured_one(d2l, framework):
    stated = BN_DEFAULTS[framework]
    default = inspect.signature(layer_class(framework)).parameters[stated["argument"]].default
    assert default == pytest.approx(stated["default"]), f"{LAYERS[framework]}'s default is {default}"
    measured = d2l.batch_norm_settings()["momentum"]
    assert measured == pytest.approx(stated["momentum"], rel=1e-3), f"{framework} measured {measured}"


@pytest.mark.frameworks("mxnet")
def test_mxnet_updates_its_running_mean_in_the_backward_pass(d2l, framework):
    """A recorded forward pass alone leaves Gluon's running mean at its initial 0 (the notebook says so)."""
    assert BN_DEFAULTS["mxnet"]["update"] == "backward"
    from mxnet import autograd, np as mnp
    from mxnet.gluon import nn
    layer = nn.BatchNorm()
    layer.initialize()
    x = mnp.array(np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) + 1)
    with autograd.record():
        y = layer(x)
    assert float(abs(layer.running_mean.data()).max()) == 0.0
    y.backward()
    moved = layer.running_mean.data().asnumpy() / x.asnumpy().mean(axis=(0, 2, 3))
    np.testing.assert_allclose(moved, BN_DEFAULTS["mxnet"]["momentum"], rtol=1e-4)
