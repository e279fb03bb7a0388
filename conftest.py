"""pytest set-up shared by tests/ and nbval over notebooks/.

The five frameworks cannot share one process (Paddle after TensorFlow segfaults; MindSpore after
the others fails on a oneDNN symbol). So the suite runs in several processes:

    pytest tests notebooks            # framework-neutral tests, and nbval (one kernel per notebook)
    pytest tests --framework=torch    # the tests that need PyTorch, and nothing else; likewise
                                      # tensorflow, mxnet, paddle, mindspore

A test that needs a framework takes the `framework` argument (or the `d2l` fixture); one that
concerns some frameworks only says so with `@pytest.mark.frameworks("torch", ...)`.
"""
import importlib
import importlib.util
import os

import pytest

FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")
IMPORT_NAMES = {"torch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet",
                "paddle": "paddle", "mindspore": "mindspore"}

# Notebooks and framework tests train in the smoke preset; kernels inherit this.
os.environ.setdefault("D2L_COMPAT_SMOKE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def pytest_addoption(parser):
    parser.addoption("--framework", choices=FRAMEWORKS, default=None,
                     help="run only the tests for this framework (each needs a process of its own)")


def pytest_configure(config):
    config.addinivalue_line("markers", "frameworks(*names): run the test only for these frameworks")


def pytest_generate_tests(metafunc):
    if "framework" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("frameworks")
        metafunc.parametrize("framework", only.args if only else FRAMEWORKS)


def pytest_collection_modifyitems(config, items):
    chosen = config.getoption("--framework")
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        framework = callspec.params.get("framework") if callspec else None
        (keep if framework == chosen else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def d2l(framework):
    """The d2l_compat module for `framework`; skips when that framework is not installed."""
    if importlib.util.find_spec(IMPORT_NAMES[framework]) is None:
        pytest.skip(f"{framework} is not installed")
    return importlib.import_module(f"d2l_compat.{framework}")
