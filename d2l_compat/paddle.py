"""d2l's helpers for the PaddlePaddle ResNet chapter: `from d2l_compat import paddle as d2l`."""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "train_mode", "train_parallel", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table",
           "batch_norm_settings", "export_weights", "import_weights"]

import os
import warnings

from .common import cpu, modes, presets, resident, schedule
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

os.environ.setdefault("GLOG_minloglevel", "2")  # Paddle's C++ info lines: noise in a classroom
# Paddle's CPU convolutions are matrix products from Intel's MKL, which takes a slow generic path on
# AMD processors unless told that the CPU has AVX2. Measured on a 2-core AMD EPYC (ResNet-18, 28x28,
# batch 64): about 2x faster, and fastest on one thread (two threads: about 0.65x of one), which is
# the thread count Paddle's import sets. It must be set before the import; Intel CPUs are left alone.
_MKL_AVX2 = cpu.amd_with_avx2()
if _MKL_AVX2:
    os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
_THREADS_CHOSEN = "OMP_NUM_THREADS" in os.environ  # by the user: theirs to keep
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="No ccache found")  # only matters for C++ extensions
    paddle = require("paddle", "PaddlePaddle")
from paddle import nn  # noqa: E402

# Elsewhere, Paddle's one thread leaves cores idle (MKL's generic path on 2 cores: about 1.3x faster
# on both). Paddle's import sets OMP_NUM_THREADS=1 unless it is already set, and prints a warning to
# stderr when it is set higher, which every learner would see; so give OpenMP and MKL the cores through
# Paddle's own call, after the import: the same speed as the variable, and no warning.
if not (_THREADS_CHOSEN or _MKL_AVX2):
    paddle.base.core.set_num_threads(cpu.usable_cores())

# Paddle 3 warns on every BatchNorm call in training mode that it tracks running statistics,
# which is what every framework does; in a notebook the warning only hides the real output.
warnings.filterwarnings("ignore", message="When training, we now always track global mean and variance")

FRAMEWORK = "paddle"
nchw_shape = nchw_shape_for(FRAMEWORK)


def _cpu_modes():
    """On a CPU, the step's thread count: the one set above first, then one thread and every core.
    Which is fastest depends on the CPU (one thread was, on MKL's AVX2 path on AMD), so train_ch6
    measures them (common/modes.py); a thread count the user set stays the only one. oneDNN is no
    candidate: Paddle's dygraph training runs no oneDNN kernel (README, Benchmarks)."""
    if _THREADS_CHOSEN:
        given = os.environ["OMP_NUM_THREADS"]
        return {"threads_set": int(given) if given.isdigit() and int(given) > 0 else 1}
    counts = dict.fromkeys([1 if _MKL_AVX2 else cpu.usable_cores(), 1, cpu.usable_cores()])
    return {("1_thread" if n == 1 else f"{n}_threads"): n for n in counts}


CPU_MODES = _cpu_modes()
MODES = tuple(modes.Mode(name, f"{n} 个线程") for name, n in CPU_MODES.items())
train_mode = modes.train_mode_function(FRAMEWORK, MODES)
train_parallel = train_parallel_function(FRAMEWORK)  # d2l_compat/parallel: several workers


def _use_cpu_mode(name):
    paddle.base.core.set_num_threads(CPU_MODES[name])

def _to_batch(X, y):
    return paddle.to_tensor(X), paddle.to_tensor(y.astype("int64"))


def _resident_data(place):
    """train_ch6's data kept on `place`: uint8 uploaded once, batches gathered and scaled there."""
    def take(images, labels, index):
        X = paddle.gather(images, index).astype("float32").unsqueeze(1) * (1 / 255)
        return X, paddle.gather(labels, index).astype("int64")

    def free_bytes():  # Paddle reports what it has reserved, not what the driver has free
        i = place.get_device_id()
        return paddle.device.cuda.get_device_properties(i).total_memory - paddle.device.cuda.memory_reserved(i)
    return resident.DeviceHooks(upload=lambda a: paddle.to_tensor(a, place=place), take=take, free_bytes=free_bytes)


def load_data_fashion_mnist(batch_size, resize=None):
    """Return (train_iter, test_iter) over Fashion-MNIST, batches NCHW, read from local files."""
    return _load(batch_size, resize, FRAMEWORK, _to_batch)


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    count = paddle.device.cuda.device_count()
    i = gpu_index(i, count)
    return paddle.CUDAPlace(i) if count > i else paddle.CPUPlace()


def _check_net(net):
    instance_of(net, nn.Layer, "net must be a paddle.nn.Layer")


def _device_name(place):
    if isinstance(place, paddle.CUDAPlace):
        return f"gpu:{place.get_device_id()}"
    if isinstance(place, paddle.CPUPlace):
        return "cpu"
    raise TypeError(f"device must be a paddle.CPUPlace or CUDAPlace such as d2l.try_gpu(), got {place!r}")


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset (on any device, unlike the original)."""
    _check_net(net)
    if device is not None:
        paddle.set_device(_device_name(device))
    net.eval()
    with paddle.no_grad():
        return accuracy(data_iter, lambda X, y: (net(X).argmax(axis=1) == y).astype("int64").sum())


def _make_trainer(net, lr, device, plan=None, wrap=None):
    """Initialise `net` on `device`; return (step, evaluate, device name) for the shared loop.

    The step follows `plan` (common/schedule.py; default: plain SGD at `lr`). `wrap(net)`, if given, is the
    layer the step runs instead (a data-parallel engine's wrapper, d2l_compat/parallel), in one CPU mode only.
    """
    _check_net(net)
    plan = plan or schedule.constant(lr)
    paddle.set_device(_device_name(device))
    xavier = nn.initializer.XavierUniform()
    for layer in net.sublayers():
        if isinstance(layer, (nn.Linear, nn.Conv2D)):
            xavier(layer.weight)  # the original built this initializer and never applied it
    model = wrap(net) if wrap is not None else net  # only now: the wrapper sends rank 0's initial weights to all
    optimizer = paddle.optimizer.Momentum(learning_rate=plan.rate(0), momentum=plan.momentum,
                                          parameters=net.parameters())  # momentum 0: plain SGD
    loss = nn.CrossEntropyLoss()
    next_rate = plan.follow(optimizer.set_lr)

    def run(mode, X, y):
        next_rate()
        model.train()
        y_hat = model(X)
        l = loss(y_hat, y)
        optimizer.clear_grad()
        l.backward()
        optimizer.step()
        correct = (y_hat.argmax(axis=1) == y).astype("int64").sum()
        return l.detach() * X.shape[0], correct, X.shape[0]

    on_gpu = isinstance(device, paddle.CUDAPlace)
    gpu_mode = (modes.Mode(MODES[0].name, "GPU"),)  # one way on a GPU: the thread count is the CPU's
    cpu_modes = MODES[:1] if wrap is not None else MODES  # the workers share the cores out already
    step = modes.ModalStep(FRAMEWORK, gpu_mode if on_gpu else cpu_modes, run, None if on_gpu else _use_cpu_mode)
    return step, lambda it: evaluate_accuracy_gpu(net, it), str(device)


def train(net, train_iter, test_iter, num_epochs, lr, device):
    """train_ch6's work; returns a TrainingSummary instead of None."""
    num_epochs, lr = training_args(num_epochs, lr)
    plan = presets.training_plan(lr, train_iter, num_epochs)
    trainer = _make_trainer(net, lr, device, plan)
    on_gpu = isinstance(device, paddle.CUDAPlace)
    train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device), on_gpu)
    return fit(*trainer, train_iter, test_iter, num_epochs, plan=plan)


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    """Train a model with a GPU (defined in Chapter 6)."""
    train(net, train_iter, test_iter, num_epochs, lr, device)


# The shared weight file (d2l_compat.common.weights): same weights in every framework.
from .common import batch_norm as _batch_norm, weights as _weights  # noqa: E402

_TENSORS = {"conv": lambda m: (m.weight, m.bias),
            "bn": lambda m: (m.weight, m.bias, m._mean, m._variance),
            "dense": lambda m: (m.weight, m.bias)}  # Paddle's Linear keeps (in, out): layout.py turns it


def _weight_slots(net):
    _check_net(net)
    return _weights.slots(_weights.nested_parts(net), _TENSORS)


def _read(parameter):
    return parameter.numpy()


def _write(parameter, value):
    # Paddle refuses float32 values for a float64 twin's parameters ("paddle.float64" names NumPy's dtype too)
    parameter.set_value(value.astype(str(parameter.dtype).rsplit(".", 1)[-1]))


def _run(layer, x, training):
    """Run a layer, or the net, on an NCHW NumPy batch in training or inference mode; NumPy out."""
    layer.train() if training else layer.eval()
    with paddle.no_grad():
        return layer(paddle.to_tensor(x)).numpy()


export_weights, import_weights = _weights.module_functions(FRAMEWORK, _weight_slots, _read, _write)
batch_norm_settings = _batch_norm.settings_function(lambda: nn.BatchNorm2D(_batch_norm.CHANNELS), _run,
                                                    _TENSORS["bn"], _read, _write)


def _sgd_step(net, X, y, lr):
    """One training-mode step as train_ch6 takes it: (logits, mean loss, canonical gradients)."""
    optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=net.parameters())
    net.train()
    y_hat = net(paddle.to_tensor(X))
    loss = nn.CrossEntropyLoss()(y_hat, paddle.to_tensor(y.astype("int64")))
    loss.backward()
    grads = _weights.canonical(_weight_slots(net), lambda p: None if p.grad is None else p.grad.numpy(), FRAMEWORK)
    optimizer.step()
    optimizer.clear_grad()
    return y_hat.numpy(), float(loss), grads


def _float64_net(build):
    """A float64 twin of the notebook's net `build()` makes, for comparisons that rounding cannot decide."""
    before = paddle.get_default_dtype()
    paddle.set_default_dtype("float64")
    try:
        return build()
    finally:
        paddle.set_default_dtype(before)
