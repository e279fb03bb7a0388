"""Start one framework's data-parallel workers with that framework's own launcher; imports no framework.

Worker 0's lines are relayed as they come. A run that fails, or outlives its time limit, ends with
ParallelTrainingError naming what happened and the last lines the workers wrote; every process the
launcher started is ended with it (they share a process group of their own).
"""
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import ENGINES
from ..common import cpu
from ..common.checks import positive_int

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_IMAGES = 12000     # a few minutes on two laptop cores; the committed results have a point here
DEFAULT_TIMEOUT_S = 3600
STOP_GRACE_S = 5           # between asking the workers to stop and killing them
TAIL_LINES = 25
KEPT_LINES = 2000          # of the workers' output, searched for the errors that ended the run
ERROR_LINE = re.compile(r"^(\[rank\d+\]:\s*)?[\w.]*(Error|Exception|Interrupt)\b:?")
HOST = "127.0.0.1"         # every worker of one machine meets on loopback, never on another interface


class ParallelTrainingError(RuntimeError):
    """A data-parallel run failed or ran out of time; its workers have been stopped."""

    def _render_traceback_(self):  # IPython shows the message alone
        return [f"{type(self).__name__}: {self}"]


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _launcher(framework, workers, port, log_dir):
    """The framework's own launcher, up to the script it starts in every worker."""
    py, n = sys.executable, str(workers)
    if framework == "torch":
        return [py, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc_per_node={n}", f"--master_addr={HOST}",
                f"--master_port={port}", "--monitor-interval=0.5"]
    if framework == "paddle":
        return [py, "-m", "paddle.distributed.launch", "--nproc_per_node", n, "--master", f"{HOST}:{port}",
                "--log_dir", str(log_dir)]
    if framework == "mindspore":
        return [py, "-m", "mindspore.parallel.cluster.run", f"--worker_num={n}", f"--local_worker_num={n}",
                f"--master_addr={HOST}", f"--master_port={port}", f"--log_dir={log_dir}", "--join=True"]
    return [py]  # TensorFlow and MXNet: one process drives every device


def command(framework, workers, task, device="cpu", port=None, log_dir="."):
    """The command line that starts `task` (worker.py's arguments after the framework's) on `workers` workers."""
    return [*_launcher(framework, workers, port or free_port(), log_dir), str(WORKER), "--framework", framework,
            "--workers", str(workers), "--device", device, *task]


def environment(workers, device):
    """The workers' environment: loopback only, and the cores shared out (unless the user set a count)."""
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", MASTER_ADDR=HOST, PYTHONUNBUFFERED="1")
    if device == "cpu" and not any(name in os.environ for name in cpu.THREAD_VARIABLES):
        env.update(cpu.thread_environment(max(cpu.usable_cores() // workers, 1)))
    return env


def _stop(process):
    """End the launcher and everything it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(STOP_GRACE_S)
            if sig == signal.SIGTERM:  # the group may outlive its leader: give it the grace, then kill
                time.sleep(0.2)
        except subprocess.TimeoutExpired:
            pass


def _log_tails(log_dir):
    tails = []
    for path in sorted(Path(log_dir).rglob("*")):
        if path.is_file() and path.stat().st_size:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL_LINES:]
            tails.append(f"--- {path.name}:\n" + "\n".join(lines))
    return tails


def failure(what, code, lines, logs):
    """The message of a failed run: what ended it, the errors the workers raised, their last lines."""
    why = f"被信号 {-code} 终止" if code < 0 else f"退出码 {code}"
    errors = list(dict.fromkeys(l.strip() for l in [*lines, *"\n".join(logs).splitlines()] if ERROR_LINE.match(l)))
    cause = ("\n出错的是 / raised:\n" + "\n".join(errors[:5])) if errors else ""
    return (f"{what}失败（启动器{why}）：有工作进程出错或中途退出，其余进程已停止。/ A worker failed, or was lost; "
            f"the run was stopped.{cause}\n最后的输出 / last lines:\n" + "\n".join([*lines[-TAIL_LINES:], *logs]))


def run(framework, workers, task, device="cpu", timeout=DEFAULT_TIMEOUT_S, echo=None):
    """Run worker.py's `task` on `workers` workers of `framework`'s engine; relay its lines to `echo`."""
    if framework not in ENGINES:
        raise ValueError(f"framework must be one of {', '.join(ENGINES)}, got {framework!r}")
    workers = positive_int(workers, "workers")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    echo = echo or (lambda line: print(line, end="", flush=True))
    log_dir = tempfile.mkdtemp(prefix="d2l-parallel-")
    tail = collections.deque(maxlen=KEPT_LINES)
    process = subprocess.Popen(command(framework, workers, task, device, log_dir=log_dir), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               env=environment(workers, device), start_new_session=True)

    def relay():
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            echo(line)
    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    what = f"{framework} 的数据并行训练（{workers} 个工作进程）"
    try:
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ParallelTrainingError(f"{what}超过 {timeout} 秒仍未结束，已停止全部进程。"
                                        f"/ The run did not finish within {timeout} s and was stopped.") from None
        reader.join(5)
        if code != 0:
            raise ParallelTrainingError(failure(what, code, list(tail), _log_tails(log_dir)))
    finally:
        _stop(process)
        shutil.rmtree(log_dir, ignore_errors=True)


def train(framework, workers=2, images=DEFAULT_IMAGES, device="cpu", test_images=None, timeout=DEFAULT_TIMEOUT_S,
          echo=None):
    """Train the notebook's ResNet-18 on `workers` workers; return worker 0's TrainingSummary."""
    from ..common.training import TrainingSummary
    images = positive_int(images, "images")
    with tempfile.TemporaryDirectory(prefix="d2l-parallel-") as folder:
        summary = os.path.join(folder, "summary.json")
        task = ["train", "--images", str(images), "--summary", summary]
        if test_images:
            task += ["--test-images", str(positive_int(test_images, "test_images"))]
        run(framework, workers, task, device, timeout, echo)
        with open(summary, encoding="utf-8") as f:
            fields = json.load(f)
    return TrainingSummary(**{k: tuple(map(tuple, v)) if k == "loss_curve" else v for k, v in fields.items()})


def train_parallel_function(framework):
    """The framework module's train_parallel: the notebook's ResNet-18 on several workers, from a notebook."""
    def train_parallel(num_workers=2, images=DEFAULT_IMAGES, device="cpu"):
        """Train this notebook's ResNet-18 on `num_workers` workers with the framework's data-parallel engine."""
        return train(framework, num_workers, images, device)
    return train_parallel
