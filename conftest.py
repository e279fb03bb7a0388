"""pytest set-up shared by tests/ and nbval over notebooks/.

The five frameworks cannot share one process (Paddle after TensorFlow segfaults; MindSpore after
the others fails on a oneDNN symbol). So the suite runs in several processes:

    pytest tests notebooks            # framework-neutral tests, and the notebooks (one kernel each: in
                                      # JupyterLab by tests/test_browser.py where it runs, else nbval)
    pytest tests --framework=torch    # the tests that need PyTorch, and nothing else; likewise
                                      # tensorflow, mxnet, paddle, mindspore

A test that needs a framework takes the `framework` argument (or the `d2l` fixture); one that
concerns some frameworks only says so with `@pytest.mark.frameworks("torch", ...)`.
"""
import importlib
import importlib.util
import os
import re

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


# After -k and --framework have chosen: only browser runs that will happen count.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_run_each_notebook_once(config, items):
    """Where tests/test_browser.py runs a notebook (Run All Cells in JupyterLab, then every check nbval makes:
    each cell ran without an error, the shape cells show their stored output), nbval does not run it again."""
    in_browser = {item.callspec.params["notebook"].resolve() for item in items
                  if getattr(item, "originalname", "") == "test_notebook_in_jupyterlab"}
    twice = [item for item in items if getattr(item, "path", None) is not None and item.path.suffix == ".ipynb"
             and item.path.resolve() in in_browser]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if item not in twice]
        config.stash[NOTEBOOKS_IN_BROWSER] = sorted(path.name for path in in_browser)


NOTEBOOKS_IN_BROWSER = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    names = config.stash.get(NOTEBOOKS_IN_BROWSER, None)
    if names:
        terminalreporter.write_line(f"nbval left {len(names)} notebook(s) to tests/test_browser.py, which runs them in "
                                    f"JupyterLab: {', '.join(names)}")


# Notebook and plotting tools that a bare environment (pytest and one framework, as on a bare GPU
# machine: `make test-numpy2`) lacks; its framework runs skip the test modules that import them.
TOOLS = ("matplotlib", "IPython", "PIL", "nbformat", "nbclient", "nbval", "jupyter_client", "playwright")


@pytest.hookimpl(wrapper=True, specname="pytest_make_collect_report")
def pytest_make_collect_report_skip_missing_tools(collector):
    """In a --framework run, a test module that needs a missing tool is one skipped line, not an error."""
    report = yield
    missing = re.search(r"No module named '([\w.]+)'", str(report.longrepr)) if report.failed else None
    top = missing.group(1).split(".")[0] if missing else None
    if (top in TOOLS and isinstance(collector, pytest.Module) and collector.config.getoption("--framework")
            and importlib.util.find_spec(top) is None):
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), None, f"Skipped: needs {top}, which is not installed here")
    return report


@pytest.hookimpl(tryfirst=True, specname="pytest_make_collect_report")
def pytest_make_collect_report_skip_missing_frameworks(collector):
    """A notebook whose framework is not installed is one skipped item (nbval would fail its cells)."""
    path = getattr(collector, "path", None)
    if not (isinstance(collector, pytest.File) and path is not None and path.suffix == ".ipynb"):
        return None
    found = re.search(r"from d2l_compat import (\w+) as d2l", path.read_text(encoding="utf-8"))
    framework = found.group(1) if found else None
    if framework in IMPORT_NAMES and importlib.util.find_spec(IMPORT_NAMES[framework]) is None:
        reason = f"Skipped: {framework} is not installed (make setup FRAMEWORKS=... adds it)"
        return pytest.CollectReport(collector.nodeid, "skipped", (str(path), None, reason), [])
    return None


@pytest.fixture
def d2l(framework):
    """The d2l_compat module for `framework`; skips when that framework is not installed."""
    if importlib.util.find_spec(IMPORT_NAMES[framework]) is None:
        pytest.skip(f"{framework} is not installed")
    return importlib.import_module(f"d2l_compat.{framework}")
