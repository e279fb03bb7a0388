"""Start JupyterLab as `make lab` does: notebooks/ as its root, the project kernel as the default.

Usage: python tools/lab.py [MORE JUPYTER LAB OPTIONS ...]

This is the one place that says how the notebooks are served; the browser test
(tests/test_browser.py) starts its server through `lab_command`, so it checks what learners get.
"""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
KERNEL = "five-resnets"  # the name `make setup` registers the kernel under (Makefile: KERNEL)


def lab_command(*extra, notebook_dir=NOTEBOOK_DIR):
    """The argument list that starts JupyterLab for the notebooks, followed by `extra` options."""
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebook_dir}",
               f"--MappingKernelManager.default_kernel_name={KERNEL}"]
    if os.geteuid() == 0:  # Jupyter refuses to run as root unless told it is meant
        command.append("--allow-root")
    return command + list(extra)


if __name__ == "__main__":
    command = lab_command(*sys.argv[1:])
    os.execv(command[0], command)
