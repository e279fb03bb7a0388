"""TensorFlow's engine: tf.distribute.MirroredStrategy, one process over N devices (logical CPU devices, or the
first N GPUs); every step splits its batch between the replicas, Keras' optimizer adds their gradients."""
from .. import tensorflow as _d2l  # noqa: F401  first: it sets the environment TensorFlow reads at its import
import tensorflow as tf

from . import ENGINES, Started, device_label
from ..common import presets
from ..common.layout import from_nchw
from ..common.training import fit

IN_PROCESS = True
_strategy = []  # the MirroredStrategy start() made, then its devices


def start(workers, device):
    """Make `workers` devices of this one process (before TensorFlow runs anything) and mirror over them."""
    if device == "gpu":
        gpus = tf.config.list_physical_devices("GPU")
        if len(gpus) < workers:
            raise RuntimeError(f"{workers} devices need {workers} GPUs; this machine has {len(gpus)}")
        devices = [f"/GPU:{i}" for i in range(workers)]
        strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.NcclAllReduce())
    else:  # one physical CPU as `workers` logical devices; NCCL is GPU-only, so the sums go through one device
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * workers)
        devices = [f"/CPU:{i}" for i in range(workers)]
        strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    tf.random.set_seed(0)
    _strategy[:] = [strategy, devices]
    engine = ENGINES["tensorflow"]
    return Started(0, workers, tuple(devices), engine.gpu_backend if device == "gpu" else engine.cpu_backend, True)


def build(namespace):
    """The notebook's net, a Keras model whose weights are not made yet (its first call makes them: in the
    strategy's scope for the engine, mirrored on every device; outside it for the reference)."""
    return namespace["net"]()


def _device():
    return tf.device(_strategy[1][0])


def check_step(d2l, net, start_path, X, y, lr):
    """One plain SGD step through the engine on the full batch split between the devices, from `start_path`."""
    step, _, _, model = d2l._make_trainer(lambda: net, lr, _device(), strategy=_strategy[0])  # plain SGD at lr
    with _strategy[0].scope():  # the import builds the model: its variables must be mirrored
        d2l.import_weights(model, start_path)  # before the step is traced: it keeps the BN epsilon it sees
    step(tf.convert_to_tensor(from_nchw(X, "tensorflow")), tf.convert_to_tensor(y))
    return model


def train(d2l, net, train_iter, test_iter, lr, started, num_epochs):
    """train_ch6's loop (common/training.fit), every batch split between the replicas; the step's sums
    (loss, correct answers) are added over the replicas by strategy.reduce.

    Each replica keeps the BatchNorm moving averages of its own shares (Keras makes them without an
    aggregation); the evaluation, outside the replicas, reads the first device's, as DDP's broadcast ones."""
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, _, _ = d2l._make_trainer(lambda: net, lr, _device(), plan, strategy=_strategy[0])
    kind = tf.DeviceSpec.from_string(_strategy[1][0]).device_type
    return fit(step, evaluate, device_label(started.world, kind), train_iter, test_iter, num_epochs, plan=plan)


def finish():
    """Nothing to end: the strategy's devices belong to this process."""
