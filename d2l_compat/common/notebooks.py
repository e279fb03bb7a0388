"""Read the notebooks' own code, so tests and tools check what students run, not a copy."""
import json
import linecache
import pathlib
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the project checkout: notebooks/ is beside d2l_compat/
NOTEBOOKS = {
    "torch": "1-pytorch-resnet.ipynb",
    "mxnet": "2-mxnet-resnet.ipynb",
    "tensorflow": "3-tensorflow-resnet.ipynb",
    "paddle": "4-paddle-resnet.ipynb",
    "mindspore": "5-mindspore-resnet.ipynb",
}
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def notebook_path(framework):
    return ROOT / "notebooks" / NOTEBOOKS[framework]


def code_cells(framework):
    """Every code cell of the framework's notebook, as (source, outputs) pairs."""
    nb = json.loads(notebook_path(framework).read_text(encoding="utf-8"))
    return [("".join(c["source"]), c.get("outputs", []), c.get("execution_count"))
            for c in nb["cells"] if c["cell_type"] == "code"]


def model_code(framework):
    """The notebook's code up to (not including) the training section: imports, blocks, net."""
    sources = []
    for source, _, _ in code_cells(framework):
        if "classroom_preset(" in source or "load_data_fashion_mnist(" in source:
            break
        sources.append(source)
    return "\n\n".join(sources)


def build_namespace(framework):
    """Execute the notebook's model code as a module and return its namespace (`net` etc.).

    The module is registered (sys.modules, linecache) as Jupyter registers a cell, so frameworks
    that read a model's source, such as MindSpore's graph mode, find it.
    """
    name, source = f"notebook_{framework}", model_code(framework)
    filename = f"<{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    return module.__dict__
