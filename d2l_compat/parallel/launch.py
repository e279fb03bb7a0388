"""Start one framework's data-parallel workers with that framework's own launcher; imports no framework.

Worker 0's lines are relayed as they come. A run that fails, or outlives its time limit, ends with
ParallelTrainingError naming what happened and the last lines the workers wrote; every process the
launcher started is ended with it (they share a process group of their own).
"""
import collections
import functools
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
MINDSPORE_HEARTBEAT_S = 15
STOP_GRACE_S = 5           # between asking the workers to stop and killing them
TAIL_LINES = 25
KEPT_LINES = 2000          # of the workers' output, searched for the errors that ended the run
ENVIRONMENT_DUMP = re.compile(r"envlog\.|default\.\w+\.log$")  # Paddle's launcher: each worker's environment,
# tokens and all, which an error message must not show
ERROR_LINE = re.compile(r"^(\[rank\d+\]:\s*)?[\w.]*(Error|Exception|Interrupt)\b:?")
HOST = "127.0.0.1"         # every worker of one machine meets on loopback, never on another interface
# A network namespace of its own, loopback alone: a run started in it can reach no other interface
# (root, or a user allowed user namespaces: --map-root-user)
OWN_NETWORK = ["unshare", "--net", "--map-root-user", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
# Engines that may listen beyond loopback whatever they are told: Paddle's TCPStore binds 0.0.0.0 (its source
# hard-codes it); MindSpore's CPU collective falls back to the first interface where MS_WORKER_IP is unset
# (seen on 127.0.0.1 only, with its master on 127.0.0.1). On a CPU they run in a namespace of their own where
# the system allows one; on GPUs (NCCL) as they are.
UNBOUND = ("paddle", "mindspore")


class ParallelTrainingError(RuntimeError):
    """A data-parallel run failed or ran out of time; its workers have been stopped."""

    def _render_traceback_(self):  # IPython shows the message alone
        return [f"{type(self).__name__}: {self}"]


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=1)
def own_network_works():
    """Whether this machine lets this user start a process in a network namespace of its own (OWN_NETWORK)."""
    return bool(shutil.which("unshare")) and subprocess.run([*OWN_NETWORK, "true"], capture_output=True).returncode == 0


def _launcher(framework, workers, port, log_dir, python=None):
    """The framework's own launcher, up to the script it starts in every worker."""
    py, n = python or sys.executable, str(workers)
    if framework == "torch":
        return [py, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc_per_node={n}", f"--master_addr={HOST}",
                f"--master_port={port}", "--monitor-interval=0.5"]
    if framework == "paddle":
        return [py, "-W", "ignore:No ccache found", "-m", "paddle.distributed.launch", "--nproc_per_node", n,
                "--ips", HOST, "--start_port", str(port), "--log_dir", str(log_dir), "--log_level", "ERROR"]
    if framework == "mindspore":  # msrun starts "python" from PATH: this one first; only worker 0's log tailed
        path = os.pathsep.join([os.path.dirname(py), os.environ.get("PATH", "")])
        return ["env", f"PATH={path}", py, "-m", "mindspore.parallel.cluster.run", f"--worker_num={n}",
                f"--local_worker_num={n}", f"--master_addr={HOST}", f"--master_port={port}", f"--log_dir={log_dir}",
                "--join=True", "--tail_worker_log=0"]
    return [py]  # TensorFlow and MXNet: one process drives every device


def isolated(framework, device):
    """Whether `framework`'s CPU workers run in a network namespace of their own (OWN_NETWORK)."""
    return framework in UNBOUND and device == "cpu" and own_network_works()


def command(framework, workers, task, device="cpu", port=None, log_dir=".", python=None):
    """The command line that starts `task` (worker.py's arguments after the framework's) on `workers` workers,
    with `python` (default: this one)."""
    alone = OWN_NETWORK if isolated(framework, device) else []
    return [*alone, *_launcher(framework, workers, port or free_port(), log_dir, python), str(WORKER), "--framework", framework,
            "--workers", str(workers), "--device", device, *task]


def environment(framework, workers, device):
    """The workers' environment: loopback only, and the cores shared out (unless the user set a count)."""
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", MASTER_ADDR=HOST, PYTHONUNBUFFERED="1")
    if device == "cpu" and not any(name in os.environ for name in cpu.THREAD_VARIABLES):
        env.update(cpu.thread_environment(max(cpu.usable_cores() // workers, 1)))
        if framework == "tensorflow":  # one process: its replicas run side by side on the inter-op pool
            env["TF_NUM_INTEROP_THREADS"] = str(workers)
    if framework == "mindspore":  # MindSpore's scheduler waits this long (30 s by default) for a lost worker's
        # heartbeat before it ends the run (its heartbeats come from a thread of their own)
        env.setdefault("MS_NODE_TIMEOUT", str(MINDSPORE_HEARTBEAT_S))
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
        if path.is_file() and path.stat().st_size and not ENVIRONMENT_DUMP.match(path.name):
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


def run(framework, workers, task, device="cpu", timeout=DEFAULT_TIMEOUT_S, echo=None, python=None):
    """Run worker.py's `task` on `workers` workers of `framework`'s engine; relay its lines to `echo`."""
    if framework not in ENGINES:
        raise ValueError(f"framework must be one of {', '.join(ENGINES)}, got {framework!r}")
    workers = positive_int(workers, "workers")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    echo = echo or (lambda line: print(line, end="", flush=True))
    log_dir = tempfile.mkdtemp(prefix="d2l-parallel-")
    tail = collections.deque(maxlen=KEPT_LINES)
    argv = command(framework, workers, task, device, log_dir=log_dir, python=python)
    process = subprocess.Popen(argv,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               env=environment(framework, workers, device), start_new_session=True)

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
          echo=None, recipe="classroom", python=None):
    """Train the notebook's ResNet-18 on `workers` workers; return worker 0's TrainingSummary.

    `recipe`: "classroom" (the classroom preset on `images` images) or "book" (the documents' recipe)."""
    from ..common.training import TrainingSummary
    images = positive_int(images, "images")
    if recipe not in ("classroom", "book"):
        raise ValueError(f"recipe must be 'classroom' or 'book', got {recipe!r}")
    with tempfile.TemporaryDirectory(prefix="d2l-parallel-") as folder:
        summary = os.path.join(folder, "summary.json")
        task = ["train", "--recipe", recipe, "--images", str(images), "--summary", summary]
        if test_images:
            task += ["--test-images", str(positive_int(test_images, "test_images"))]
        run(framework, workers, task, device, timeout, echo, python)
        with open(summary, encoding="utf-8") as f:
            fields = json.load(f)
    return TrainingSummary(**{k: tuple(map(tuple, v)) if k == "loss_curve" else v for k, v in fields.items()})


def train_parallel_function(framework):
    """The framework module's train_parallel: the notebook's ResNet-18 on several workers, from a notebook."""
    def train_parallel(num_workers=2, images=DEFAULT_IMAGES, device="cpu"):
        """Train this notebook's ResNet-18 on `num_workers` workers with the framework's data-parallel engine."""
        return train(framework, num_workers, images, device)
    return train_parallel
