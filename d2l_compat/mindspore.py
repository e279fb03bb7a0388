"""d2l's helpers for the MindSpore ResNet chapter: `from d2l_compat import mindspore as d2l`."""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "train_mode", "train_parallel", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table",
           "batch_norm_settings", "export_weights", "import_weights"]

import contextlib
import os
import tempfile
import weakref

from .common import modes, presets, resident, schedule
from .common.checks import gpu_index, instance_of, training_args
from .common.data import load_data_fashion_mnist as _load
from .common.frameworks import require
from .common.layout import nchw_shape_for
from .common.metrics import accuracy
from .common.public import (Accumulator, Animator, RESNET_VARIANTS, Timer,  # noqa: F401
                            classroom_preset, plot_training_losses, resnet_multiply_adds, resnet_parameters,
                            resnet_table)
from .common.training import fit
from .parallel.launch import train_parallel_function

# MindSpore's log lines are noise in a classroom. Level 4 (critical only), not 3: compiling a graph
# from a notebook cell logs "[ERROR] CORE ... GetRealPath failed" for the cell's unsaved source file.
# Real failures still raise Python exceptions.
os.environ.setdefault("GLOG_v", "4")
# A graph that fails to compile leaves rank_0/om/analyze_fail.ir in the working folder (the learner's
# notebooks/); keep such files in the temporary folder instead.
os.environ.setdefault("MS_OM_PATH", os.path.join(tempfile.gettempdir(), "d2l_compat-mindspore"))
ms = require("mindspore", "MindSpore")
from mindspore import nn  # noqa: E402
from mindspore.common.initializer import XavierUniform, initializer  # noqa: E402

FRAMEWORK = "mindspore"
# train_ch6's step compiled as one graph (GRAPH_MODE) or run op by op (PyNative): the graph was about
# twice as fast on 2 CPU cores, compile included, but train_ch6 measures both (common/modes.py).
MODES = (modes.Mode("graph", "静态图模式"), modes.Mode("pynative", "PyNative 动态图模式"))
train_mode = modes.train_mode_function(FRAMEWORK, MODES)
train_parallel = train_parallel_function(FRAMEWORK)  # d2l_compat/parallel: several workers
nchw_shape = nchw_shape_for(FRAMEWORK)


def _to_batch(X, y):
    return ms.Tensor(X), ms.Tensor(y)


def _resident_data(device):
    """train_ch6's data kept on `device`: uint8 uploaded once, batches gathered and scaled there."""
    target = device.partition(":")[0]

    def take(images, labels, index):
        X = ms.ops.gather(images, index, 0).expand_dims(1).astype(ms.float32) * (1 / 255)
        return X, ms.ops.gather(labels, index, 0)
    return resident.DeviceHooks(upload=lambda a: ms.Tensor(a).move_to(target), take=take)


def load_data_fashion_mnist(batch_size, resize=None):
    """Return (train_iter, test_iter) over Fashion-MNIST, batches NCHW, read from local files."""
    return _load(batch_size, resize, FRAMEWORK, _to_batch)


def try_gpu(i=0):
    """Return 'GPU:i', as MindSpore names a GPU, if this build sees GPU i, otherwise 'CPU'."""
    gpu = ms.device_context.gpu
    count = gpu.device_count() if gpu.is_available() else 0  # device_count raises without the GPU plugin
    i = gpu_index(i, count)
    return f"GPU:{i}" if count > i else "CPU"


def _check_net(net):
    instance_of(net, nn.Cell, "net must be a mindspore.nn.Cell")


def _check_device(device):
    target, _, index = device.partition(":") if isinstance(device, str) else (None, "", "")
    if target not in ("CPU", "GPU", "Ascend") or not (index == "" or index.isdigit()):
        raise TypeError(f"device must be a MindSpore device such as d2l.try_gpu() ('CPU', 'GPU' or 'GPU:0'), "
                        f"got {device!r}")
    return device


def _use(device):
    """Make `device` ('CPU', 'GPU', 'GPU:1', ...) the one MindSpore runs on."""
    target, _, index = device.partition(":")
    ms.set_context(device_target=target, device_id=int(index or 0))


@contextlib.contextmanager
def _graph_mode():
    """Run in MindSpore's compiled GRAPH_MODE for a while, then return to the mode the notebook was in
    (PyNative), so that the notebook's own cells behave as before."""
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        yield
    finally:
        ms.set_context(mode=previous)


class _TrainStep(nn.Cell):
    """One training step compiled as one graph: forward, loss, gradients, update, right answers.
    `reduce` (a cell, e.g. nn.DistributedGradReducer) takes the gradients before the update."""

    def __init__(self, net, loss, optimizer, reduce=None):
        super().__init__(auto_prefix=False)
        self.net, self.loss, self.optimizer, self.reduce = net, loss, optimizer, reduce
        self.grad = ms.value_and_grad(self.forward, None, optimizer.parameters, has_aux=True)

    def forward(self, X, y):
        y_hat = self.net(X)
        return self.loss(y_hat, y), y_hat

    def construct(self, X, y):
        (l, y_hat), grads = self.grad(X, y)
        if self.reduce is not None:
            grads = self.reduce(grads)
        self.optimizer(grads)
        return l, (y_hat.argmax(axis=1).astype(y.dtype) == y).sum()


class _CountCorrect(nn.Cell):
    """The number of right answers on a batch, in inference mode, compiled as one graph."""

    def __init__(self, net):
        super().__init__(auto_prefix=False)
        self.net = net

    def construct(self, X, y):
        return (self.net(X).argmax(axis=1).astype(y.dtype) == y).sum()


class _Graph:
    """Call `cell` as a compiled graph (GRAPH_MODE). Where MindSpore cannot compile it (a model whose
    source it cannot read, e.g. code run with exec; Python its graph syntax lacks), say so once and
    run it in PyNative from then on: slower, same results; a real error then surfaces from PyNative."""

    def __init__(self, cell):
        self.cell, self.compiles = cell, True

    def __call__(self, *args):
        if self.compiles:
            try:
                with _graph_mode():
                    return self.cell(*args)
            except Exception as err:  # compile errors come as OSError, RuntimeError, TypeError, ...
                self.compiles = False
                print(f"MindSpore 无法把这个模型编译成静态图（{type(err).__name__}），改用 PyNative 模式（较慢，结果相同）。")
        return self.cell(*args)


_COUNTERS = weakref.WeakKeyDictionary()  # net -> its compiled counting cell


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset (a compiled graph; the notebook stays in PyNative)."""
    _check_net(net)
    if net not in _COUNTERS:
        _COUNTERS[net] = _Graph(_CountCorrect(net))
    count = _COUNTERS[net]
    count.cell.set_train(False)
    return accuracy(data_iter, count)


def _make_trainer(net, lr, device, plan=None, reduce=None):
    """Initialise `net` on `device`; return (step, evaluate, device name) for the shared loop.

    The step follows `plan` (common/schedule.py; default: plain SGD at `lr`) and runs as a compiled
    graph (GRAPH_MODE) or in PyNative, whichever train_ch6 measures faster (MODES). Each new batch
    shape compiles once (about 1-2 s). `reduce(parameters)`, if given, makes the cell the gradients
    pass through before the update (a data-parallel engine's all-reduce).
    """
    _check_net(net)
    plan = plan or schedule.constant(lr)
    device = _check_device(device or try_gpu())
    _use(device)
    for _, cell in net.cells_and_names():
        if isinstance(cell, (nn.Dense, nn.Conv2d)):
            cell.weight.set_data(initializer(XavierUniform(), cell.weight.shape, cell.weight.dtype))
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=plan.rate(0), momentum=plan.momentum)
    next_rate = plan.follow(lambda rate: optimizer.learning_rate.set_data(ms.Tensor(rate, ms.float32)))
    train_step = _Graph(_TrainStep(net, nn.CrossEntropyLoss(), optimizer,
                                   reduce(optimizer.parameters) if reduce else None))

    def run(mode, X, y):
        next_rate()
        train_step.cell.set_train(True)
        l, correct = train_step(X, y) if mode == "graph" else train_step.cell(X, y)
        return l * X.shape[0], correct, X.shape[0]

    return modes.ModalStep(FRAMEWORK, MODES, run), lambda it: evaluate_accuracy_gpu(net, it), device


def train(net, train_iter, test_iter, num_epochs, lr, device=None):
    """train_ch6's work; returns a TrainingSummary instead of None."""
    num_epochs, lr = training_args(num_epochs, lr)
    plan = presets.training_plan(lr, train_iter, num_epochs)
    trainer = _make_trainer(net, lr, device, plan)
    device = trainer[2]  # the device in use: try_gpu()'s when none was given
    train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device), device.startswith("GPU"))
    return fit(*trainer, train_iter, test_iter, num_epochs, plan=plan)


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device=None):
    """Train a model (defined in Chapter 6), on the GPU when MindSpore has one."""
    train(net, train_iter, test_iter, num_epochs, lr, device)


# The shared weight file (d2l_compat.common.weights): same weights in every framework.
from .common import batch_norm as _batch_norm, weights as _weights  # noqa: E402

_TENSORS = {"conv": lambda m: (m.weight, m.bias),  # the notebook's convolutions have no bias: None
            "bn": lambda m: (m.gamma, m.beta, m.moving_mean, m.moving_variance),
            "dense": lambda m: (m.weight, m.bias)}


def _weight_slots(net):
    _check_net(net)
    return _weights.slots(_weights.nested_parts(net), _TENSORS)


def _read(parameter):
    return parameter.asnumpy()


def _write(parameter, value):
    parameter.set_data(ms.Tensor(value))


def _run(layer, x, training):
    """Run a layer, or the net, on an NCHW NumPy batch in training or inference mode; NumPy out."""
    layer.set_train(training)
    return layer(ms.Tensor(x)).asnumpy()


export_weights, import_weights = _weights.module_functions(FRAMEWORK, _weight_slots, _read, _write)
batch_norm_settings = _batch_norm.settings_function(lambda: nn.BatchNorm2d(_batch_norm.CHANNELS), _run,
                                                    _TENSORS["bn"], _read, _write)


def _sgd_step(net, X, y, lr):
    """One training-mode step as train_ch6 takes it: (logits, mean loss, canonical gradients)."""
    optimizer = nn.SGD(net.trainable_params(), learning_rate=lr)
    loss = nn.CrossEntropyLoss()

    def forward(X, y):
        y_hat = net(X)
        return loss(y_hat, y), y_hat

    net.set_train(True)
    (l, y_hat), grads = ms.value_and_grad(forward, None, optimizer.parameters, has_aux=True)(ms.Tensor(X), ms.Tensor(y))
    by_name = {p.name: g.asnumpy() for p, g in zip(optimizer.parameters, grads)}
    canonical = _weights.canonical(_weight_slots(net), lambda p: by_name.get(p.name), FRAMEWORK)
    optimizer(grads)
    return y_hat.asnumpy(), float(l), canonical


def _float64_net(build):
    """MindSpore cannot make a float64 twin of the net: its CPU Conv2D and BatchNorm take float16 or float32 only."""
    raise NotImplementedError("MindSpore's CPU kernels for Conv2D and BatchNorm accept float16 and float32 "
                              "tensors only (MindSpore 2.8: 'must be a type of {Tensor[Float16], Tensor[Float32]}')")
