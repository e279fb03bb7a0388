"""Data-parallel training of the notebooks' ResNet-18 on N workers, each framework on its own engine.

    python -m d2l_compat.parallel --framework paddle --workers 2 [--images 12000]   (make parallel)

`launch` (no framework imported) starts the framework's own launcher, or one process where the engine
keeps its devices in one process; `worker` runs in every worker process, the engine modules (one per
framework, importing only that framework) do the framework's part. The net is the notebook's own
code (common/notebooks.py), as same_function reads it.
"""
import dataclasses


BOOK_BATCH, BOOK_RESIZE = 256, 96  # the documents' training call, `--recipe book`


def device_label(world, kind):
    """The result line's device: the workers' count and the kind of device they share, as the framework
    names it ("2×cpu", "4×cuda", "2×CPU")."""
    return f"{world}×{kind}"


@dataclasses.dataclass(frozen=True)
class Engine:
    """What one framework's data-parallel engine is, as the README and the engine line name it."""
    name: str           # the framework's own API
    launcher: str       # how its workers start: a launcher module, or "" for one process
    cpu_backend: str    # the collective it uses on CPU
    gpu_backend: str
    batch_norm: str     # which batch norm the notebook's net gets (Chinese, for the engine line)
    rank_variable: str = ""  # the environment variable that holds a worker process's rank ("": one process)


PER_SHARE_BN = "批量规范化层在每个工作进程分到的那一份小批量上计算均值和方差（与书中“多 GPU 的简洁实现”一节相同）"
ENGINES = {
    "torch": Engine("torch.nn.parallel.DistributedDataParallel", "torch.distributed.run", "gloo", "nccl",
                    PER_SHARE_BN, "RANK"),
    "tensorflow": Engine("tf.distribute.MirroredStrategy", "", "ReductionToOneDevice", "NcclAllReduce",
                         PER_SHARE_BN.replace("工作进程", "设备")),
    "mxnet": Engine("Gluon 设备列表 + split_and_load + kvstore 'device'", "", "kvstore device", "kvstore device",
                    PER_SHARE_BN.replace("工作进程", "设备")),
    "paddle": Engine("paddle.DataParallel", "paddle.distributed.launch", "gloo", "nccl", PER_SHARE_BN,
                     "PADDLE_TRAINER_ID"),
    "mindspore": Engine("ParallelMode.DATA_PARALLEL（gradients_mean=True）", "msrun", "mccl", "nccl",
                        PER_SHARE_BN, "RANK_ID"),
}


@dataclasses.dataclass(frozen=True)
class Started:
    """One worker's place in a started engine."""
    rank: int           # 0 prints the result lines and writes the files
    world: int          # the number of workers (processes, or devices of one process)
    devices: tuple      # every worker's device, as the framework names it
    backend: str        # the collective in use
    in_process: bool    # the engine drives all devices from one process (and splits each batch itself)
