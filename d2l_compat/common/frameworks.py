"""Import a framework on demand, with a one-line explanation when that cannot work."""
import contextlib
import importlib
import os
import sys

from .errors import FrameworkMissingError

SUPPORTED_PYTHON = (3, 11)
FIX = "run `make setup` in the project folder and choose the kernel 'Python (five-resnets)'"


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
        python = ".".join(map(str, sys.version_info[:2]))
        if sys.version_info[:2] != SUPPORTED_PYTHON:
            reason = (f"this is Python {python}; the pinned frameworks need Python "
                      f"{'.'.join(map(str, SUPPORTED_PYTHON))}")
        else:
            reason = f"{display_name} is not installed in this Python ({sys.executable}): {err}"
        raise FrameworkMissingError(f"d2l_compat cannot load {display_name}: {reason}. To fix: {FIX}.") from None
