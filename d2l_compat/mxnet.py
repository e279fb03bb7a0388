"""d2l's helpers for the MXNet (Gluon, NumPy interface) ResNet chapter: `from d2l_compat import mxnet as d2l`."""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "train_mode", "train_parallel", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table",
           "batch_norm_settings", "export_weights", "import_weights"]

import numpy as _onp

# MXNet 1.9.1 still uses np.bool, np.int, ... which NumPy 1.24 removed; without these aliases
# `import mxnet` fails. They must exist before MXNet is imported, so this runs first.
for _name, _type in (("bool", bool), ("int", int), ("float", float), ("complex", complex),
                     ("object", object), ("str", str)):
    if _name not in _onp.__dict__:
        setattr(_onp, _name, _type)

from .common import modes, presets, resident, schedule  # noqa: E402
from .common.checks import gpu_index, instance_of, training_args  # noqa: E402
from .common.data import load_data_fashion_mnist as _load  # noqa: E402
from .common.frameworks import require  # noqa: E402
from .common.layout import nchw_shape_for  # noqa: E402
from .common.metrics import accuracy  # noqa: E402
from .common.public import (Accumulator, Animator, RESNET_VARIANTS, Timer,  # noqa: F401,E402
                            classroom_preset, plot_training_losses, resnet_multiply_adds, resnet_parameters,
                            resnet_table)
from .common.training import fit  # noqa: E402
from .parallel.launch import train_parallel_function  # noqa: E402

mx = require("mxnet", "MXNet")
from mxnet import autograd, gluon, init, np, npx  # noqa: E402

npx.set_np()
FRAMEWORK = "mxnet"
# One mode: the notebook's Residual is a Gluon Block, which cannot be hybridized into a graph.
MODES = (modes.Mode("imperative", "命令式"),)
train_mode = modes.train_mode_function(FRAMEWORK, MODES)
train_parallel = train_parallel_function(FRAMEWORK)  # d2l_compat/parallel: several workers
nchw_shape = nchw_shape_for(FRAMEWORK)


def _to_batch(X, y):
    return np.array(X, dtype=X.dtype), np.array(y, dtype=y.dtype)


def _resident_data(device):
    """train_ch6's data kept on `device`: uint8 uploaded once, batches gathered and scaled there."""
    def take(images, labels, index):
        return np.expand_dims(images[index], 1).astype("float32") * (1 / 255), labels[index]
    return resident.DeviceHooks(upload=lambda a: np.array(a, dtype=a.dtype, ctx=device), take=take,
                                free_bytes=lambda: mx.context.gpu_memory_info(device.device_id)[0])


def load_data_fashion_mnist(batch_size, resize=None):
    """Return (train_iter, test_iter) over Fashion-MNIST, batches NCHW, read from local files."""
    return _load(batch_size, resize, FRAMEWORK, _to_batch)


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    count = mx.context.num_gpus()
    i = gpu_index(i, count)
    return mx.gpu(i) if count > i else mx.cpu()


def _check_net(net):
    instance_of(net, gluon.Block, "net must be a mxnet.gluon.Block")


def _check_device(device):
    if not isinstance(device, mx.Context):
        raise TypeError(f"device must be an mxnet Context such as d2l.try_gpu(), got {device!r}")


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset using a GPU."""
    _check_net(net)
    if device is None:
        device = list(net.collect_params().values())[0].list_ctx()[0]

    def count_correct(X, y):
        X, y = X.as_in_ctx(device), y.as_in_ctx(device)
        return (net(X).argmax(axis=1).astype(y.dtype) == y).sum()

    return accuracy(data_iter, count_correct)


def _make_trainer(net, lr, device, plan=None, devices=None):
    """Initialise `net` on `device`; return (step, evaluate, device name) for the shared loop.

    The step follows `plan` (common/schedule.py; default: plain SGD at `lr`). `devices`, if given (d2l 12.6's
    recipe, d2l_compat/parallel), get an equal share of every batch; the trainer's kvstore adds their gradients.
    """
    _check_net(net)
    _check_device(device)
    devices = devices or [device]
    plan = plan or schedule.constant(lr)
    net.initialize(force_reinit=True, ctx=devices, init=init.Xavier())
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': plan.rate(0), 'momentum': plan.momentum})
    next_rate = plan.follow(trainer.set_learning_rate)

    def run(mode, X, y):
        next_rate()
        Xs, ys = gluon.utils.split_and_load(X, devices), gluon.utils.split_and_load(y, devices)
        with autograd.record():
            y_hats = [net(X_shard) for X_shard in Xs]
            ls = [loss(y_hat, y_shard) for y_hat, y_shard in zip(y_hats, ys)]
        for l in ls:
            l.backward()
        trainer.step(X.shape[0])  # the whole batch: the kvstore sums the shares' gradients, this averages them
        correct = [(y_hat.argmax(axis=1).astype(y_shard.dtype) == y_shard).sum() for y_hat, y_shard in zip(y_hats, ys)]
        return sum(l.sum().as_in_ctx(device) for l in ls), sum(c.as_in_ctx(device) for c in correct), X.shape[0]

    return modes.ModalStep(FRAMEWORK, MODES, run), lambda it: evaluate_accuracy_gpu(net, it, device), str(device)


def train(net, train_iter, test_iter, num_epochs, lr, device):
    """train_ch6's work; returns a TrainingSummary instead of None."""
    num_epochs, lr = training_args(num_epochs, lr)
    plan = presets.training_plan(lr, train_iter, num_epochs)
    trainer = _make_trainer(net, lr, device, plan)
    train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device), device.device_type == "gpu")
    return fit(*trainer, train_iter, test_iter, num_epochs, plan=plan)


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    """Train a model with a GPU (defined in Chapter 6)."""
    train(net, train_iter, test_iter, num_epochs, lr, device)


# The shared weight file (d2l_compat.common.weights): same weights in every framework.
from .common import batch_norm as _batch_norm, weights as _weights  # noqa: E402

_TENSORS = {"conv": lambda m: (m.weight, m.bias),
            "bn": lambda m: (m.gamma, m.beta, m.running_mean, m.running_var),
            "dense": lambda m: (m.weight, m.bias)}


def _weight_slots(net):
    _check_net(net)
    try:
        [p.data() for p in net.collect_params().values()]
    except gluon.parameter.DeferredInitializationError:
        net(np.zeros((1, _weights.IN_CHANNELS, 96, 96)))  # Gluon learns the shapes at the first call
    except RuntimeError:  # not initialised yet: any values do, they are overwritten
        net.initialize()
        net(np.zeros((1, _weights.IN_CHANNELS, 96, 96)))
    return _weights.slots(lambda: (net[0], net[1], [blk for stage in net[4:8] for blk in stage], net[-1]),
                          _TENSORS)


def _read(parameter):
    return parameter.data().asnumpy()


def _write(parameter, value):
    parameter.set_data(np.array(value))


def _new_batch_norm():
    layer = gluon.nn.BatchNorm()
    layer.initialize()
    return layer


def _run(layer, x, training):
    """Run a layer, or the net, on an NCHW NumPy batch in training or inference mode; NumPy out."""
    if not training:
        return layer(np.array(x)).asnumpy()
    with autograd.record():
        y = layer(np.array(x))
    y.backward()  # Gluon's BatchNorm updates its running statistics in the backward pass
    return y.asnumpy()


export_weights, import_weights = _weights.module_functions(FRAMEWORK, _weight_slots, _read, _write)
batch_norm_settings = _batch_norm.settings_function(_new_batch_norm, _run, _TENSORS["bn"], _read, _write)


def _sgd_step(net, X, y, lr):
    """One training-mode step as train_ch6 takes it: (logits, mean loss, canonical gradients)."""
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    with autograd.record():
        y_hat = net(np.array(X))
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(y_hat, np.array(y)).mean()
    loss.backward()
    grads = _weights.canonical(_weight_slots(net), lambda p: None if p.grad_req == "null" else p.grad().asnumpy(),
                               FRAMEWORK)
    trainer.step(1)
    return y_hat.asnumpy(), float(loss), grads


def _float64_net(build):
    """A float64 twin of the notebook's net `build()` makes, for comparisons that rounding cannot decide."""
    net = build()
    net.cast("float64")
    return net
