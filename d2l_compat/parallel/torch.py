"""PyTorch's engine: DistributedDataParallel, one process per worker started by torchrun; gloo on CPU, nccl on GPU."""
import datetime
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import ENGINES, Started, device_label
from ..common import presets
from ..common.training import fit

IN_PROCESS = False
# A collective whose peer has died fails after this instead of waiting; torchrun stops the others sooner.
COLLECTIVE_TIMEOUT = datetime.timedelta(seconds=60)


def start(workers, device):
    """Join the process group torchrun set up; return this worker's place in it."""
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if world != workers:
        raise RuntimeError(f"torchrun started {world} workers, {workers} were asked for")
    if device == "gpu":
        if torch.cuda.device_count() < world:
            raise RuntimeError(f"{world} workers need {world} GPUs; this machine has {torch.cuda.device_count()}")
        torch.cuda.set_device(local)
    backend = ENGINES["torch"].gpu_backend if device == "gpu" else ENGINES["torch"].cpu_backend
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    torch.manual_seed(0)  # DDP copies worker 0's initial weights to the others anyway
    devices = tuple(f"cuda:{r}" for r in range(world)) if device == "gpu" else ("cpu",) * world
    return Started(rank, world, devices, backend, False)


def _device():
    on_gpu = dist.get_backend() == ENGINES["torch"].gpu_backend
    return torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}") if on_gpu else torch.device("cpu")


def _wrap(net):
    device = _device()
    return DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)


def build(namespace):
    """The notebook's net."""
    return namespace["net"]


def check_step(d2l, net, start_path, X, y, lr):
    """One plain SGD step through the engine on this worker's share, from the weights in `start_path`."""
    d2l.import_weights(net, start_path)
    device = _device()
    model = _wrap(net.to(device))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model.train()(torch.from_numpy(X).to(device)), torch.from_numpy(y).long().to(device))
    loss.backward()
    optimizer.step()
    return net


def train(d2l, net, train_iter, test_iter, lr, started, num_epochs):
    """train_ch6's loop (common/training.fit) on this worker's shard, its gradients averaged by DDP."""
    device = _device()
    plan = presets.training_plan(lr, train_iter, num_epochs)
    step, evaluate, _ = d2l._make_trainer(net, lr, device, plan, wrap=_wrap)

    def counted(X, y):  # the three sums of every worker's share, added by the engine's own all-reduce
        sums = torch.stack([torch.as_tensor(v, dtype=torch.float64, device=device) for v in step(X, y)])
        dist.all_reduce(sums)
        return sums[0], sums[1], sums[2]
    return fit(counted, evaluate, device_label(started.world, device.type), train_iter, test_iter, num_epochs,
               plan=plan)


def finish():
    dist.destroy_process_group()
