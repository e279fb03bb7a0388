"""Paddle's engine: paddle.DataParallel, one process per worker started by paddle.distributed.launch; gloo on CPU,
nccl on GPU."""
import contextlib
import io
import os

from .. import paddle as _d2l  # first: what it sets before Paddle's import (C++ log level, MKL's path)
import paddle
import paddle.distributed as dist
from paddle import nn

from . import ENGINES, Started, device_label
from ..common import presets
from ..common.training import fit

IN_PROCESS = False


def start(workers, device):
    """Join the process group paddle.distributed.launch set up; return this worker's place in it."""
    rank, world = int(os.environ["PADDLE_TRAINER_ID"]), int(os.environ["PADDLE_TRAINERS_NUM"])
    if world != workers:
        raise RuntimeError(f"paddle.distributed.launch started {world} workers, {workers} were asked for")
    backend = ENGINES["paddle"].gpu_backend if device == "gpu" else ENGINES["paddle"].cpu_backend
    if device == "gpu":
        count = paddle.device.cuda.device_count()
        if count < world:
            raise RuntimeError(f"{world} workers need {world} GPUs; this machine has {count}")
    os.environ["PADDLE_DISTRI_BACKEND"] = backend  # the launcher picks gloo only where it finds no GPU
    paddle.set_device(_d2l._device_name(_place()))
    with contextlib.redirect_stderr(io.StringIO()):  # it lists every Paddle flag that differs from its default
        dist.init_parallel_env()
    devices = tuple(f"gpu:{r}" for r in range(world)) if device == "gpu" else ("cpu",) * world
    return Started(rank, world, devices, backend, False)


def _place():
    if os.environ["PADDLE_DISTRI_BACKEND"] == ENGINES["paddle"].cpu_backend:
        return paddle.CPUPlace()
    return paddle.CUDAPlace(dist.ParallelEnv().device_id)  # the GPU the launcher gave this worker


def build(namespace):
    """The notebook's net."""
    return namespace["net"]


def check_step(d2l, net, start_path, X, y, lr):
    """One plain SGD step through the engine on this worker's share, from the weights in `start_path`."""
    d2l.import_weights(net, start_path)
    model = paddle.DataParallel(net)
    optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=net.parameters())
    model.train()
    loss = nn.CrossEntropyLoss()(model(paddle.to_tensor(X)), paddle.to_tensor(y.astype("int64")))
    loss.backward()
    optimizer.step()
    return net


def train(d2l, net, train_iter, test_iter, lr, started, num_epochs):
    """train_ch6's loop (common/training.fit) on this worker's shard, its gradients averaged by DataParallel."""
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, _ = d2l._make_trainer(net, lr, _place(), plan, wrap=paddle.DataParallel)

    def counted(X, y):  # the three sums of every worker's share, added by the engine's own all-reduce
        sums = paddle.stack([paddle.cast(v if isinstance(v, paddle.Tensor) else paddle.to_tensor(v), "float64")
                             .reshape([]) for v in step(X, y)])
        dist.all_reduce(sums)
        return sums[0], sums[1], sums[2]
    kind = "cpu" if isinstance(_place(), paddle.CPUPlace) else "gpu"
    return fit(counted, evaluate, device_label(started.world, kind), train_iter, test_iter, num_epochs, plan=plan)


def finish():
    """Leave the process group."""
    dist.destroy_process_group()
