"""Jupyter's stop button during training: the cell ends in KeyboardInterrupt, no thread is left behind,
and running the training cell again trains (a real kernel, PyTorch's notebook code)."""
import queue
import time

import pytest

from notebook_code import model_code

jupyter_client = pytest.importorskip("jupyter_client.manager")

LONG_RUN = """import os, threading
os.environ["D2L_COMPAT_SMOKE"] = "0"  # the documents' recipe on the whole set: minutes, long enough to stop
threads_before = threading.active_count()
train_iter, test_iter = d2l.load_data_fashion_mnist(256)
d2l.train_ch6(net, train_iter, test_iter, 10, 0.05, d2l.try_gpu())"""
AGAIN = """os.environ["D2L_COMPAT_SMOKE"] = "1"
import gc; gc.collect()
print("threads left:", threading.active_count() - threads_before)
train_iter, test_iter = d2l.load_data_fashion_mnist(256)
d2l.train_ch6(net, train_iter, test_iter, 10, 0.05, d2l.try_gpu())"""


def _run(client, code, timeout, until=None, on_output=None):
    """Execute `code`; return (reply content, printed text). `on_output(text)` is called as output arrives."""
    msg_id, printed, deadline = client.execute(code), "", time.monotonic() + timeout
    while True:
        try:
            msg = client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s; printed so far:\n{printed[-2000:]}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed += msg["content"]["text"]
            if on_output:
                on_output(printed)
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return client.get_shell_msg(timeout=30)["content"], printed


@pytest.mark.frameworks("torch")
def test_stopping_training_interrupts_cleanly_and_the_cell_runs_again(framework, tmp_path):
    manager, client = jupyter_client.start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        reply, _ = _run(client, model_code(framework), 300)
        assert reply["status"] == "ok", reply
        interrupted = []

        def stop_once_training(printed):
            if "约需" in printed and not interrupted:  # the estimate comes after the fifth batch
                manager.interrupt_kernel()
                interrupted.append(time.monotonic())
        reply, printed = _run(client, LONG_RUN, 600, on_output=stop_once_training)
        assert interrupted, printed[-1000:]
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply.get("ename")
        reply, printed = _run(client, AGAIN, 600)
        assert reply["status"] == "ok", reply
        assert "threads left: 0" in printed and "examples/sec" in printed, printed[-1000:]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
