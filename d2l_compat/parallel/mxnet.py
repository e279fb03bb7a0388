"""MXNet's engine, d2l 12.6's recipe: one process drives a Gluon context list (cpu(0), cpu(1), ... or the GPUs);
split_and_load shares each batch out, the Trainer's kvstore 'device' adds the devices' gradients."""
from .. import mxnet as _d2l  # noqa: F401  first: it gives NumPy the aliases MXNet 1.9.1 needs to import
from mxnet import autograd, gluon
import mxnet as mx

from . import ENGINES, Started, device_label
from ..common import presets
from ..common.training import fit

IN_PROCESS = True
_devices = []  # the contexts start() chose, every step's shares go to them


def start(workers, device):
    """Choose `workers` contexts of this one process; return its place (rank 0 of them all)."""
    if device == "gpu" and mx.context.num_gpus() < workers:
        raise RuntimeError(f"{workers} devices need {workers} GPUs; this machine has {mx.context.num_gpus()}")
    _devices[:] = [mx.gpu(i) if device == "gpu" else mx.cpu(i) for i in range(workers)]
    mx.random.seed(0)
    engine = ENGINES["mxnet"]
    backend = engine.gpu_backend if device == "gpu" else engine.cpu_backend
    return Started(0, workers, tuple(map(str, _devices)), backend, True)


def build(namespace):
    """The notebook's net."""
    return namespace["net"]


def check_step(d2l, net, start_path, X, y, lr):
    """One plain SGD step through the engine on the full batch split between the devices, from `start_path`."""
    d2l.import_weights(net, start_path)
    net.collect_params().reset_ctx(_devices)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr}, kvstore="device")
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    Xs, ys = gluon.utils.split_and_load(X, _devices), gluon.utils.split_and_load(y, _devices)
    with autograd.record():
        losses = [loss(net(X_shard), y_shard) for X_shard, y_shard in zip(Xs, ys)]
    for l in losses:
        l.backward()
    trainer.step(len(X))  # the mean over the whole batch, as the reference's mean of the shares' means
    net.collect_params().reset_ctx(_devices[0])  # the copies are equal; the export reads one
    return net


def train(d2l, net, train_iter, test_iter, lr, started, num_epochs):
    """train_ch6's loop (common/training.fit), every batch split between the devices (d2l's train_batch_ch13)."""
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, _ = d2l._make_trainer(net, lr, _devices[0], plan, devices=_devices)
    return fit(step, evaluate, device_label(started.world, _devices[0].device_type), train_iter, test_iter,
               num_epochs, plan=plan)


def finish():
    """Wait for MXNet's engine to finish its queued work."""
    mx.nd.waitall()
