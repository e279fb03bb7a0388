"""d2l's helpers for the TensorFlow (Keras) ResNet chapter: `from d2l_compat import tensorflow as d2l`.

Batches are NHWC (channels last), the layout Keras convolutions expect.
"""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "train_mode", "train_parallel", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table",
           "batch_norm_settings", "export_weights", "import_weights"]

import contextlib
import os
import weakref

from .common import modes, presets, resident, schedule, shards
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

# TensorFlow's C++ start-up lines go to the terminal, not to Jupyter; silence them so that a
# notebook looks the same in JupyterLab and under nbval.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Linux build turns its oneDNN kernels on only for CPUs with AVX512_VNNI, AVX512_BF16,
# AVX_VNNI or AMX (DefaultOneDnnPolicy in tensorflow/core/util/port.cc). Elsewhere (an AVX2-only AMD
# Zen 3, say) the gradient of a 3x3 convolution falls back to Eigen's Conv2DBackpropInput, which is
# slow on the last stage's 1x1 and 2x2 maps (bench/results/tf_gradient.md: the whole training step
# several times slower). It is read once, at TensorFlow's import; a value the user set stays.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
tf = require("tensorflow", "TensorFlow", quiet=True)

FRAMEWORK = "tensorflow"
nchw_shape = nchw_shape_for(FRAMEWORK)
# train_ch6's step as a tf.function graph, or compiled whole by XLA: XLA was 2.3x faster on one
# 2-core CPU and 5x slower on another (README), so train_ch6 measures both (common/modes.py).
MODES = (modes.Mode("graph", "tf.function 计算图"), modes.Mode("xla", "XLA 编译"))
train_mode = modes.train_mode_function(FRAMEWORK, MODES)
train_parallel = train_parallel_function(FRAMEWORK)  # d2l_compat/parallel: several workers


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


def _replicated(strategy, train_step):
    """`train_step` on every replica of `strategy`, each on its share of the batch: (mean loss, correct).

    Keras divides each replica's mean loss by the replica count and its optimizer sums their gradients:
    the step is the full batch's mean gradient.
    """
    @tf.function(reduce_retracing=True)
    def each(X, y):
        l, correct = strategy.run(train_step, args=(X, y))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, l, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None))

    def share(a, devices=strategy.extended.worker_devices):
        def on_device(context):
            with tf.device(devices[context.replica_id_in_sync_group]):
                return tf.identity(shards.share(a, context.replica_id_in_sync_group, len(devices)))
        return strategy.experimental_distribute_values_from_function(on_device)
    return lambda X, y: each(share(X), share(y))


def _make_trainer(net_fn, lr, device, plan=None, strategy=None):
    """Build the net on `device`; return (step, evaluate, device name, net) for the shared loop.

    The step follows `plan` (common/schedule.py; default: plain SGD at `lr`). Under a tf.distribute
    `strategy` (d2l_compat/parallel) the net is built in its scope and every step splits the batch
    between its replicas.
    """
    if not callable(net_fn):
        raise TypeError(f"net_fn must be a function that builds the network, got {net_fn!r}")
    device_name = _device_name(device)
    plan = plan or schedule.constant(lr)
    place = strategy.scope if strategy is not None else lambda: tf.device(device_name)
    with place():
        net = net_fn()  # Keras layers start with Glorot (Xavier) uniform weights
        _check_net(net)
        optimizer = tf.keras.optimizers.SGD(learning_rate=plan.rate(0), momentum=plan.momentum)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        next_rate = plan.follow(lambda rate: optimizer.learning_rate.assign(rate))  # a variable the graph reads

        def train_step(X, y):
            with tf.GradientTape() as tape:
                y_hat = net(X, training=True)
                l = loss(y, y_hat)
            grads = tape.gradient(l, net.trainable_variables)
            optimizer.apply_gradients(zip(grads, net.trainable_variables))
            correct = tf.reduce_sum(tf.cast(tf.argmax(y_hat, axis=1, output_type=y.dtype) == y, tf.int32))
            return l, correct
        compiled = {"graph": tf.function(train_step, reduce_retracing=True),
                    "xla": tf.function(train_step, reduce_retracing=True, jit_compile=True)}
        if strategy is not None:  # graph mode alone: over CPU devices XLA compiles every replica's step as one
            # cluster on one device, which cannot reach the other devices' variables
            compiled = {"graph": _replicated(strategy, compiled["graph"])}

        def run(mode, X, y):
            if not optimizer.built:  # Keras creates the variables eagerly, not inside a compiled step
                with strategy.scope() if strategy is not None else contextlib.nullcontext():
                    if not net.built:
                        net(X[:1])
                    optimizer.build(net.trainable_variables)
            next_rate()
            with place():
                l, correct = compiled[mode](X, y)
            return l * int(X.shape[0]), correct, int(X.shape[0])

    step = modes.ModalStep(FRAMEWORK, [mode for mode in MODES if mode.name in compiled], run)
    return step, lambda it: evaluate_accuracy_gpu(net, it, device), device_name, net


def train(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """train_ch6's work; returns (net, TrainingSummary)."""
    num_epochs, lr = training_args(num_epochs, lr)
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, device_name, net = _make_trainer(net_fn, lr, device, plan)
    with tf.device(device_name):
        on_gpu = tf.DeviceSpec.from_string(device_name).device_type == "GPU"
        train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device_name), on_gpu)
        return net, fit(step, evaluate, device_name, train_iter, test_iter, num_epochs, plan=plan)


def train_ch6(net_fn, train_iter, test_iter, num_epochs, lr, device):
    """Train a model with a GPU (defined in Chapter 6); returns the trained net."""
    return train(net_fn, train_iter, test_iter, num_epochs, lr, device)[0]


# The shared weight file (d2l_compat.common.weights): same weights in every framework.
from .common import batch_norm as _batch_norm, weights as _weights  # noqa: E402
from .common.layout import from_nchw, to_nchw  # noqa: E402

_TENSORS = {"conv": lambda m: (m.kernel, m.bias),  # Keras kernels are HWIO and (in, out): layout.py turns them
            "bn": lambda m: (m.gamma, m.beta, m.moving_mean, m.moving_variance),
            "dense": lambda m: (m.kernel, m.bias)}


def _built(net):
    """The Keras model `net`, or the model the function `net` builds, with its weights created."""
    model = net if isinstance(net, tf.keras.Model) or not callable(net) else net()
    _check_net(model)
    if not model.built:
        model(tf.zeros((1, 96, 96, _weights.IN_CHANNELS)))  # Keras creates the weights at the first call
    return model


def _parts(model):
    return lambda: (model.layers[0], model.layers[1],
                    [blk for stage in model.layers[4:8] for blk in stage.residual_layers], model.layers[-1])


def _weight_slots(net):
    return _weights.slots(_parts(_built(net)), _TENSORS)


def _batch_norms(model):
    found = _weights.named_layers(_parts(model))
    return {name: found[name] for name, kind, _ in _weights.layers() if kind == "bn"}


def _read(variable):
    return variable.numpy()


def _write(variable, value):
    variable.assign(value)


def export_weights(net, path):
    """Save the notebook's ResNet-18 to `path`, a weight file every framework's import_weights reads.

    `net` is a Keras model (built or not) or the notebook's function `net` that builds one.
    Kernels are stored OIHW; a running variance kept for another epsilon is converted to the file's.
    """
    model = _built(net)
    epsilons = {name: layer.epsilon for name, layer in _batch_norms(model).items()}
    _weights.export(_weight_slots(model), _read, FRAMEWORK, path, bn_epsilons=epsilons)


def import_weights(net, path):
    """Load a weight file written by any framework's export_weights; returns the Keras model.

    `net` is a Keras model, loaded in place, or the notebook's function `net`, which is called to
    build one. Its BatchNormalization layers take the file's epsilon, 1e-5 (Keras' default is
    1e-3), so that the model computes the same function as the other frameworks'.
    """
    model = _built(net)
    _weights.install(_weight_slots(model), _read, _write, FRAMEWORK, path)
    for layer in _batch_norms(model).values():
        layer.epsilon = _weights.BN_EPSILON
    return model


def _run(layer, x, training):
    """Run a layer, or the net, on an NCHW NumPy batch in training or inference mode; NumPy out."""
    y = layer(from_nchw(x, FRAMEWORK), training=training).numpy()
    return to_nchw(y, FRAMEWORK) if y.ndim == 4 else y


batch_norm_settings = _batch_norm.settings_function(tf.keras.layers.BatchNormalization, _run,
                                                    _TENSORS["bn"], _read, _write)


def _sgd_step(net, X, y, lr):
    """One training-mode step as train_ch6 takes it: (logits, mean loss, canonical gradients)."""
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=net.compute_dtype)
    with tf.GradientTape() as tape:
        y_hat = net(from_nchw(X, FRAMEWORK), training=True)
        l = loss(y, y_hat)
    grads = tape.gradient(l, net.trainable_variables)
    by_id = {id(v): g.numpy() for v, g in zip(net.trainable_variables, grads)}
    canonical = _weights.canonical(_weight_slots(net), lambda v: by_id.get(id(v)), FRAMEWORK)
    tf.keras.optimizers.SGD(learning_rate=lr).apply_gradients(zip(grads, net.trainable_variables))
    return y_hat.numpy(), float(l), canonical


def _float64_net(build):
    """A float64 twin of the notebook's net `build()` makes, for comparisons that rounding cannot decide.

    Keras layers take the global dtype policy when they are created (floatx only decides it before the first
    layer exists): the model is built under a float64 policy.
    """
    before = tf.keras.config.dtype_policy()
    tf.keras.config.set_dtype_policy("float64")
    try:
        return _built(build())
    finally:
        tf.keras.config.set_dtype_policy(before)
