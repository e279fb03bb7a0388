"""Start one framework's data-parallel workers with that framework's own launcher; imports no framework.

Worker 0's lines are relayed as they come. A run that fails, or outlives its time limit, ends with
ParallelTrainingError naming what happened and the last lines the workers wrote. Every process the
launcher started is ended with it: the launchers start their workers in sessions of their own, so the
processes below the launcher are listed before it is stopped, and each is stopped by its number.
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
from . import BOOK_BATCH
from ..common import cpu, presets
from ..common.checks import positive_int

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_IMAGES = 6000      # about a minute on two laptop cores, as bench/results/parallel.json measured
DEFAULT_TIMEOUT_S = 3600
MINDSPORE_HEARTBEAT_S = 10
STOP_GRACE_S = 5           # between asking the workers to stop and killing them
TAIL_LINES = 25
KEPT_LINES = 2000          # of the workers' output, searched for the errors that ended the run
# The launchers' log files an error message may show: Paddle's workers' and MindSpore's workers' and scheduler's
# (Paddle's launcher also writes every worker's environment there, tokens and all: never shown).
WORKER_LOG = re.compile(r"^(workerlog\.\d+|worker_\d+\.log|scheduler\.log)$")
ERROR_LINE = re.compile(r"^(\[rank\d+\]:\s*)?[\w.]*(Error|Exception|Interrupt)\b:?")
HOST = "127.0.0.1"         # every worker of one machine meets on loopback, never on another interface
# A network namespace of its own, loopback alone: a run started in it can reach no other interface
# (root, or a user allowed user namespaces: --map-root-user)
OWN_NETWORK = ["unshare", "--net", "--map-root-user", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
# Engines that may listen beyond loopback whatever they are told: PyTorch's TCPStore binds :: (or 0.0.0.0),
# and Paddle's, a copy of it, 0.0.0.0 (their sources hard-code it); MindSpore's CPU collective falls back to the first interface where MS_WORKER_IP is unset
# (seen on 127.0.0.1 only, with its master on 127.0.0.1). On a CPU they run in a namespace of their own where
# the system allows one; on GPUs (NCCL) as they are.
UNBOUND = ("torch", "paddle", "mindspore")


class ParallelTrainingError(RuntimeError):
    """A data-parallel run failed or ran out of time; its workers have been stopped."""

    def _render_traceback_(self):  # IPython shows the message alone
        return [f"{type(self).__name__}: {self}"]


def free_port():
    """A TCP port free on loopback now."""
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
    if device == "gpu":  # one machine: NCCL's own connections stay on loopback too
        env.setdefault("NCCL_SOCKET_IFNAME", "lo")
    if device == "cpu" and not any(name in os.environ for name in cpu.THREAD_VARIABLES):
        env.update(cpu.thread_environment(max(cpu.usable_cores() // workers, 1)))
        if framework == "tensorflow":  # one process: its replicas run side by side on the inter-op pool
            env["TF_NUM_INTEROP_THREADS"] = str(workers)
        if framework == "mxnet":  # one process: each device has this many engine threads, each op OMP's
            env["MXNET_CPU_WORKER_NTHREADS"] = "1"
    if framework == "mindspore":  # MindSpore's scheduler waits this long (30 s by default) for a lost worker's
        # heartbeat before it ends the run (its heartbeats come from a thread of their own)
        env.setdefault("MS_NODE_TIMEOUT", str(MINDSPORE_HEARTBEAT_S))
    return env


def descendants(pid):
    """The numbers of every process below `pid` now (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop(process):
    """End the launcher and everything below it (the workers sit in sessions of their own: each by its number)."""
    pids = [process.pid, *descendants(process.pid)]
    try:
        _signal(pids, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.1)
    except KeyboardInterrupt:  # a second interrupt: no more grace
        _signal(pids, signal.SIGKILL)
        raise
    finally:
        _signal(pids, signal.SIGKILL)
        if process.poll() is None:
            process.wait()


def _alive(pid):
    """True while `pid` runs (a zombie waiting for its parent does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _log_tails(log_dir):
    tails = []
    for path in sorted(Path(log_dir).rglob("*")):
        if path.is_file() and path.stat().st_size and WORKER_LOG.match(path.name):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL_LINES:]
            tails.append(f"--- {path.name}:\n" + "\n".join(lines))
    return tails


def _what(framework, workers):
    unit = "工作进程" if ENGINES[framework].launcher else "设备"
    return f"{framework} 的数据并行训练（{workers} 个{unit}）"


def failure(what, code, lines, logs):
    """The message of a failed run: what ended it, the errors the workers raised, their last lines.
    `code`: the launcher's exit status, or None where the run ran out of time."""
    errors = list(dict.fromkeys(l.strip() for l in [*lines, *"\n".join(logs).splitlines()] if ERROR_LINE.match(l)))
    cause = ("\n出错的是 / raised:\n" + "\n".join(errors[:5])) if errors else ""
    if code is None:
        head = f"{what}超时，已停止全部进程。/ The run ran out of time and was stopped."
    else:
        why = f"被信号 {-code} 终止" if code < 0 else f"退出码 {code}"
        head = (f"{what}失败（启动器{why}）：有工作进程出错或中途退出，其余进程已停止。/ A worker failed, or was "
                "lost; the run was stopped.")
    return f"{head}{cause}\n最后的输出 / last lines:\n" + "\n".join([*lines[-TAIL_LINES:], *logs])


def _checked(framework, workers, device, timeout):
    if framework not in ENGINES:
        raise ValueError(f"framework must be one of {', '.join(ENGINES)}, got {framework!r}")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds above 0, got {timeout!r}")
    return positive_int(workers, "workers")


def run(framework, workers, task, device="cpu", timeout=DEFAULT_TIMEOUT_S, echo=None, python=None):
    """Run worker.py's `task` on `workers` workers of `framework`'s engine; relay its lines to `echo`."""
    workers = _checked(framework, workers, device, timeout)
    echo = echo or (lambda line: print(line, end="", flush=True))
    tail = collections.deque(maxlen=KEPT_LINES)
    log_dir, process = tempfile.mkdtemp(prefix="d2l-parallel-"), None
    try:
        process = subprocess.Popen(command(framework, workers, task, device, log_dir=log_dir, python=python),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace", env=environment(framework, workers, device),
                                   start_new_session=True)

        def relay():
            for line in process.stdout:
                tail.append(line.rstrip("\n"))
                echo(line)
        reader = threading.Thread(target=relay, daemon=True)
        reader.start()
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            _stop(process)
        reader.join(5)
        if code != 0:
            raise ParallelTrainingError(failure(_what(framework, workers), code, list(tail), _log_tails(log_dir)))
    finally:
        if process is not None:
            _stop(process)
            process.stdout.close()
        shutil.rmtree(log_dir, ignore_errors=True)


def shares_evenly(workers, batch_size):
    """A clear error unless `workers` divides the batch (each worker's share is equal)."""
    if batch_size % workers:
        fits = ", ".join(str(n) for n in range(1, batch_size + 1) if batch_size % n == 0 and n <= 64)
        raise ValueError(f"{workers} workers cannot share batches of {batch_size} equally: choose one of {fits}")


def train(framework, workers=2, images=None, device="cpu", test_images=None, timeout=DEFAULT_TIMEOUT_S,
          echo=None, recipe="classroom", python=None, check=None):
    """Train the notebook's ResNet-18 (the model code of its saved file) on `workers` workers; return worker
    0's TrainingSummary.

    `recipe`: "classroom" (the classroom preset on `images` images, DEFAULT_IMAGES if None) or "book" (the
    documents' recipe: all 60,000 images, 10 epochs; `images` must then be None). `check`, a folder: take
    worker.py's check step there first, in the same workers (the tests' one start-up for both)."""
    from ..common.training import TrainingSummary
    workers = _checked(framework, workers, device, timeout)
    if recipe not in BATCH:
        raise ValueError(f"recipe must be 'classroom' or 'book', got {recipe!r}")
    if recipe == "book" and images is not None:
        raise ValueError("the book's recipe trains all 60000 images for 10 epochs: leave images out, or use the "
                         "classroom recipe")
    images = positive_int(DEFAULT_IMAGES if images is None else images, "images")
    if images > presets.TRAINING_IMAGES:
        raise ValueError(f"images must be at most {presets.TRAINING_IMAGES} (Fashion-MNIST's training set), "
                         f"got {images}")
    test_images = positive_int(test_images, "test_images", allow_none=True)
    shares_evenly(workers, BATCH[recipe])
    with tempfile.TemporaryDirectory(prefix="d2l-parallel-") as folder:
        summary = os.path.join(folder, "summary.json")
        task = ["train", "--recipe", recipe, "--images", str(images), "--summary", summary]
        if test_images is not None:
            task += ["--test-images", str(test_images)]
        if check is not None:
            task += ["--check", str(check)]
        run(framework, workers, task, device, timeout, echo, python)
        with open(summary, encoding="utf-8") as f:
            fields = json.load(f)
    return TrainingSummary(**{k: tuple(map(tuple, v)) if k == "loss_curve" else v for k, v in fields.items()})


BATCH = {"classroom": presets.CLASSROOM.batch_size, "book": BOOK_BATCH}  # as worker.py trains each recipe


def train_parallel_function(framework):
    """The framework module's train_parallel: the notebook's ResNet-18 on several workers, from a notebook."""
    def train_parallel(num_workers=2, images=DEFAULT_IMAGES, device="cpu"):
        """Train this notebook's ResNet-18, as its saved file defines it, on `num_workers` workers with the
        framework's data-parallel engine (`device="gpu"`: one worker per GPU); return worker 0's summary."""
        return train(framework, num_workers, images, device)
    return train_parallel
