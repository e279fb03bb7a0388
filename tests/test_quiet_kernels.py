"""In a real Jupyter kernel, importing d2l_compat and training prints nothing to stderr.

JupyterLab shows a kernel's stderr, C++ log lines included, in red under the cell. Two cases this
guards: Paddle's import warns "OMP_NUM_THREADS set to 2, not 1" when the thread count is given through
that variable (d2l_compat sets it through Paddle's own call instead), and MindSpore's graph compiler
logs "[ERROR] CORE ... GetRealPath failed" for code defined in a notebook cell (GLOG_v=4 hides it).
"""
import nbformat
import pytest
from nbclient import NotebookClient

from notebook_code import model_code


@pytest.mark.frameworks("paddle", "mindspore")
def test_import_and_training_write_nothing_to_stderr(d2l, framework, tmp_path):
    cells = [model_code(framework),  # the notebook's own imports and model, with its shape checks
             "train_iter, test_iter = d2l.load_data_fashion_mnist(64)\n"
             "d2l.train_ch6(net, train_iter, test_iter, 1, 0.05, d2l.try_gpu())"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with open(tmp_path / "kernel-stderr.txt", "w+") as kernel_stderr:
        # The kernel process's own stderr as well: ipykernel does not forward every C++ line to the
        # notebook under every front end, JupyterLab does. Its own start-up notices are not shown.
        client.execute(stderr=kernel_stderr)
        kernel_stderr.seek(0)
        raw = [line for line in kernel_stderr if line.strip() and not line.startswith("[IPKernelApp]")]
    stderr = [out["text"] for cell in notebook.cells for out in cell.outputs
              if out.get("output_type") == "stream" and out.get("name") == "stderr"]
    assert not stderr and not raw, ("".join(stderr) + "".join(raw))[:2000]
    printed = "".join(out.get("text", "") for out in notebook.cells[-1].outputs)
    assert "[冒烟测试]" in printed and "examples/sec" in printed  # it did train
