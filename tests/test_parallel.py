"""Data-parallel training (d2l_compat/parallel) on 2 CPU workers, each framework on its own engine.

Every process is started with a time limit; the engines meet on 127.0.0.1 only. PyTorch's, Paddle's and
MindSpore's may listen beyond loopback (launch.UNBOUND): their CPU workers run in a network namespace of
their own, with loopback alone, and their tests skip where this machine cannot make one.
"""
import contextlib
import functools
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

from d2l_compat import parallel
from d2l_compat.common import weights
from d2l_compat.common.notebooks import ROOT
from d2l_compat.parallel import launch

WORKERS = 2
TIMEOUT_S = 300
LR = 0.05
# The workers and the reference run the same kernels on the same shares with the same thread counts;
# only the averaging of the two gradients (and its order) differs. A sum where the mean belongs is off by
# 1.0, a worker that keeps its own gradient by about the shares' difference.
UPDATE_TOLERANCE = 1e-4
LEARN_IMAGES, TEST_IMAGES, ABOVE_CHANCE = 3072, 500, 0.3  # ten classes: chance is 0.1; PyTorch reached 0.70
DEATH_LIMIT_S = 90  # a dead worker must end the run well before the training would (minutes)
TIMEOUT_LIMIT_S = 6  # a run of 60,000 images stopped by its time limit, every worker started by then


@pytest.fixture(autouse=True)
def loopback_only(request):
    framework = request.node.callspec.params.get("framework") if hasattr(request.node, "callspec") else None
    if framework in launch.UNBOUND and not launch.isolated(framework, "cpu"):
        pytest.skip(f"{framework}'s engine may listen beyond loopback, and this machine does not let the test give "
                    "it a network namespace of its own (unshare --net --map-root-user): not run")


FOLDERS = []


@functools.lru_cache(maxsize=None)
def short_run(framework):
    """One start-up of 2 workers for two tests: the check's step, then the command's short classroom run.
    Returns (the check's folder, worker 0's lines, the summary)."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix=f"parallel-{framework}-"))
    FOLDERS.append(folder)
    X, y = fashion_batch()
    weights.save_weights(weights.random_weights(0), folder / "start.npz")
    np.savez(folder / "batch.npz", X=X, y=y, lr=np.float32(LR))
    lines = []
    previous = os.environ.pop("D2L_COMPAT_SMOKE", None)  # a real (short) classroom run
    try:
        summary = launch.train(framework, WORKERS, LEARN_IMAGES, test_images=TEST_IMAGES, timeout=TIMEOUT_S,
                               echo=lines.append, check=folder)
    finally:
        if previous is not None:
            os.environ["D2L_COMPAT_SMOKE"] = previous
    return folder, "".join(lines), summary


@pytest.fixture(scope="module", autouse=True)
def remove_short_runs():
    yield
    for folder in FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)
    short_run.cache_clear()


def fashion_batch():
    from d2l_compat.same_function import fashion_mnist_batch
    return fashion_mnist_batch(96)


def test_two_workers_take_the_single_process_step(framework, d2l):
    folder, _, _ = short_run(framework)
    with np.load(folder / "imported.npz") as a, np.load(folder / "expected.npz") as e, \
            np.load(folder / "after.npz") as p:
        names = sorted(e.files)
        expected = np.concatenate([(e[k].astype(np.float64) - a[k]).ravel() for k in names])
        found = np.concatenate([(p[k].astype(np.float64) - a[k]).ravel() for k in names])
    difference = np.linalg.norm(found - expected) / np.linalg.norm(expected)
    print(f"{framework}: 2-worker update vs single-process per-share update: {difference:.1e} (relative)")
    assert difference < UPDATE_TOLERANCE, (
        f"{framework}: the 2-worker step moves the weights {difference:.2g} (relative) away from the single-process "
        f"step on the same shares (length ratio {np.linalg.norm(found) / np.linalg.norm(expected):.3f})")


def run_command(*args, env=None, timeout=TIMEOUT_S):
    return subprocess.run([sys.executable, "-m", "d2l_compat.parallel", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_a_short_run_on_two_workers_learns(framework, d2l):
    _, out, summary = short_run(framework)
    assert f"数据并行：{parallel.ENGINES[framework].name}，{WORKERS} 个" in out, out
    result = re.search(r"loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)\n([\d.]+) examples/sec on (\S+)", out)
    assert result, out
    assert result.group(5).startswith(f"{WORKERS}×") and summary.device == result.group(5), result.group(0)
    assert float(result.group(2)) > ABOVE_CHANCE, f"{framework} did not learn on {WORKERS} workers:\n{out}"
    # The test runs on the batch norms' running statistics. Keras' momentum (0.99, 0.01 in PyTorch's terms)
    # keeps 62% of their start after these 48 steps, and TensorFlow in one process tests at chance too; the
    # others' (0.1) keep under 1%.
    kept = (1 - d2l.batch_norm_settings()["momentum"]) ** (LEARN_IMAGES // 64)
    if kept < 0.05:
        assert float(result.group(3)) > ABOVE_CHANCE, f"{framework} learnt, but tests at chance:\n{out}"


def worker_of_rank(pid, variable, rank):
    for child in launch.descendants(pid):
        try:
            env = open(f"/proc/{child}/environ", "rb").read().split(b"\0")
            cmdline = open(f"/proc/{child}/cmdline", "rb").read()
        except OSError:
            continue
        if f"{variable}={rank}".encode() in env and b"worker.py" in cmdline:
            return child
    return None


def test_a_dead_worker_ends_the_run_with_a_clear_message(framework, d2l):
    variable = parallel.ENGINES[framework].rank_variable
    if not variable:
        pytest.skip(f"{framework}'s engine drives its devices from one process: there is no worker process to lose")
    env = {k: v for k, v in os.environ.items() if k != "D2L_COMPAT_SMOKE"}
    process = subprocess.Popen([sys.executable, "-m", "d2l_compat.parallel", "--framework", framework,
                                "--workers", str(WORKERS), "--images", "60000", "--timeout", str(TIMEOUT_S)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    started = []
    try:
        for line in process.stdout:  # the engine line: every worker has joined
            if line.startswith("数据并行"):
                break
        victim = worker_of_rank(process.pid, variable, 1)
        assert victim, "no worker process of rank 1 found"
        started = launch.descendants(process.pid)
        os.kill(victim, signal.SIGKILL)
        killed = time.perf_counter()
        _, err = process.communicate(timeout=DEATH_LIMIT_S)
        took = time.perf_counter() - killed
    finally:  # whatever failed: nothing of the run may outlive the test (workers sit in sessions of their own)
        for pid in [process.pid, *launch.descendants(process.pid), *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    print(f"{framework}: the run ended {took:.1f} s after worker 1 was killed")
    assert process.returncode != 0
    assert "ParallelTrainingError" in err and "失败" in err, err[-3000:]
    assert not [pid for pid in started if launch._alive(pid)], "processes of the run outlived it"


@pytest.mark.frameworks("torch", "paddle", "mindspore")  # the launchers that start workers in sessions of their own
def test_a_run_out_of_time_is_stopped_with_every_process(framework, d2l, monkeypatch):
    # The launcher and every worker below it end when the time limit does (a notebook's interrupt takes the
    # same path), and the message says so.
    monkeypatch.delenv("D2L_COMPAT_SMOKE", raising=False)  # a long run, not the smoke preset's 64 images
    seen, running = set(), threading.Event()
    running.set()

    def watch():  # every process below this one while the run lasts (orphans leave the tree: list them early)
        while running.is_set():
            seen.update(launch.descendants(os.getpid()))
            time.sleep(0.2)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.perf_counter()
    try:
        with pytest.raises(launch.ParallelTrainingError, match="超时") as caught:
            launch.train(framework, WORKERS, 60000, timeout=TIMEOUT_LIMIT_S, echo=lambda line: None)
    finally:
        running.clear()
        watcher.join()
    print(f"{framework}: stopped {time.perf_counter() - began - TIMEOUT_LIMIT_S:.1f} s after its time limit, "
          f"{len(seen)} processes seen")
    left = [pid for pid in seen if launch._alive(pid)]
    for pid in left:  # never leave them running, even when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert len(seen) > WORKERS and not left, f"processes outlived the run: {left}\n{caught.value}"


@pytest.mark.parametrize("bad", [["--workers", "0"], ["--images", "-5"]])
def test_bad_arguments_get_a_clear_error(bad):
    done = run_command("--framework", "torch", *bad, timeout=60)
    assert done.returncode == 1 and "must be a positive integer" in done.stderr, done.stderr


def test_the_prose_states_the_codes_own_numbers():
    readme = (ROOT / "README.md").read_text("utf-8")
    lesson = (ROOT / "lesson" / "resnet.md").read_text("utf-8")
    assert f"`--images` ({launch.DEFAULT_IMAGES:,})" in readme and f"固定的 {launch.DEFAULT_IMAGES} 张图像" in lesson
    assert f"heartbeat: {launch.MINDSPORE_HEARTBEAT_S} s here" in readme
    assert f"then trains {LEARN_IMAGES:,} images" in readme and f"after {LEARN_IMAGES // 64} steps" in readme
    assert f"agree to {UPDATE_TOLERANCE:.0e}".replace("e-0", "e-") + " (relative)" in readme and f"above {ABOVE_CHANCE:g}" in readme
