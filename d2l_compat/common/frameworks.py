"""Import a framework on demand, with a one-line explanation when that cannot work."""
import contextlib
import importlib
import os
import sys

from .errors import FrameworkMissingError

# The Pythons each pinned framework ships wheels for (MXNet 1.9.1 is pure Python but needs NumPy < 2,
# whose wheels stop at 3.12). Only these bound a framework; the five together are set up on 3.11.
WHEEL_PYTHONS = {"torch": ((3, 10), (3, 14)), "tensorflow": ((3, 10), (3, 13)), "mxnet": ((3, 10), (3, 12)),
                 "paddle": ((3, 9), (3, 13)), "mindspore": ((3, 9), (3, 12))}
FIX = ("run `make setup` in the project folder (FRAMEWORKS=\"{module}\" for this one only) and choose the "
       "kernel 'Python (five-resnets)', or install it into this Python: pip install -e \".[{module}]\"")


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while.

    Some frameworks write start-up lines from C++ before their log-level variables take effect
    (TensorFlow's oneDNN notice); JupyterLab shows them, nbval does not, so hide them in both.
    Python exceptions are unaffected: they are raised after the descriptor is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def require(module, display_name, quiet=False):
    """Import and return `module`, or raise FrameworkMissingError saying how to get it."""
    try:
        if quiet:
            with native_stderr_silenced():
                return importlib.import_module(module)
        return importlib.import_module(module)
    except ImportError as err:
        python, fix = sys.version_info[:2], FIX.format(module=module)
        low, high = WHEEL_PYTHONS.get(module, (python, python))
        if not low <= python <= high:
            versions = "-".join(".".join(map(str, v)) for v in (low, high))
            reason = (f"this is Python {'.'.join(map(str, python))}, and {display_name}'s pinned release "
                      f"works on Python {versions} only")
            fix = (f"use a Python {versions} kernel: `make setup` (Python 3.11, all five frameworks) and "
                   "choose 'Python (five-resnets)'")
        else:
            reason = f"{display_name} is not installed in this Python ({sys.executable}): {err}"
        raise FrameworkMissingError(f"d2l_compat cannot load {display_name}: {reason}. To fix: {fix}.") from None
