"""MindSpore's engine: ParallelMode.DATA_PARALLEL, one process per worker started by msrun; mccl on CPU, nccl on GPU.

The step is the framework module's compiled training step (GRAPH_MODE in every worker: each worker must
run the same collectives in the same order, so no worker measures modes on its own), its gradients
averaged by nn.DistributedGradReducer, the reducer MindSpore's TrainOneStepCell inserts in this mode.
"""
from .. import mindspore as _d2l  # noqa: F401  MindSpore's log level and graph folder, before MindSpore loads
import mindspore as ms  # noqa: E402
from mindspore import nn  # noqa: E402
from mindspore.communication import get_group_size, get_local_rank, get_rank, init, release  # noqa: E402

from . import ENGINES, Started, device_label  # noqa: E402
from ..common import presets  # noqa: E402
from ..common.training import fit  # noqa: E402

IN_PROCESS = False
_device = "CPU"  # this worker's, as MindSpore names it: msrun's DEVICE_ID is its local rank, on CPU too


def start(workers, device):
    """Join the cluster msrun started; return this worker's place in it."""
    global _device
    target = "GPU" if device == "gpu" else "CPU"
    ms.set_context(device_target=target)
    init()
    rank, world = get_rank(), get_group_size()
    if world != workers:
        raise RuntimeError(f"msrun started {world} workers, {workers} were asked for")
    _device = f"{target}:{get_local_rank()}"
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    ms.set_seed(0)  # the same initial weights in every worker (MindSpore's way to share them in this mode)
    devices = tuple(f"GPU:{r}" for r in range(world)) if target == "GPU" else ("CPU",) * world
    engine = ENGINES["mindspore"]
    return Started(rank, world, devices, engine.gpu_backend if target == "GPU" else engine.cpu_backend, False)


def build(namespace):
    """The notebook's net."""
    return namespace["net"]


def check_step(d2l, net, start_path, X, y, lr):
    """One plain SGD step through the engine on this worker's share, from the weights in `start_path`."""
    d2l.import_weights(net, start_path)
    d2l._use(_device)
    optimizer = nn.SGD(net.trainable_params(), learning_rate=lr)
    step = d2l._TrainStep(net, nn.CrossEntropyLoss(), optimizer, nn.DistributedGradReducer(optimizer.parameters))
    step.set_train(True)
    with d2l._graph_mode():
        step(ms.Tensor(X), ms.Tensor(y))
    return net


def train(d2l, net, train_iter, test_iter, lr, started, num_epochs):
    """train_ch6's loop (common/training.fit) on this worker's shard, its gradients averaged by the engine."""
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, _ = d2l._make_trainer(net, lr, _device, plan, reduce=nn.DistributedGradReducer)
    step.use("graph")
    add = ms.ops.AllReduce()

    def counted(X, y):  # the three sums of every worker's share, added by the engine's own all-reduce
        sums = add(ms.Tensor([float(v) for v in step(X, y)], ms.float32)).asnumpy()
        return sums[0], sums[1], sums[2]
    return fit(counted, evaluate, device_label(started.world, _device.split(":")[0]), train_iter, test_iter,
               num_epochs, plan=plan)


def finish():
    """Leave the cluster."""
    release()
