"""d2l_compat's helpers have the names and parameters of the installed `d2l` package.

Both sides are read with `ast`, so no framework (and not d2l, which needs old pins) is imported.
d2l 1.0.3 has torch, tensorflow and mxnet modules; paddle and mindspore follow the torch one.
"""
import ast
import importlib.util
import pathlib

import pytest

import d2l_compat

CHAPTER_NAMES = ["load_data_fashion_mnist", "try_gpu", "evaluate_accuracy_gpu", "train_ch6",
                 "Timer", "Accumulator", "Animator"]
D2L_MODULE_FOR = {"torch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet",
                  "paddle": "torch", "mindspore": "torch"}
OUR_ROOT = pathlib.Path(d2l_compat.__file__).parent


def d2l_file(module):
    spec = importlib.util.find_spec("d2l")
    if spec is None:
        pytest.skip("d2l is not installed (make setup installs it with --no-deps)")
    return pathlib.Path(spec.origin).parent / f"{module}.py"


def signature(node):
    """(parameter names, defaults as source text) of a function, or of a class's __init__."""
    if isinstance(node, ast.ClassDef):
        inits = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
        node = inits[0]
    args = node.args
    names = [a.arg for a in args.args]
    defaults = [ast.unparse(d) for d in args.defaults]
    return names, defaults


def definitions(path):
    """Top-level functions and classes of a module, following `from .x import Name` re-exports."""
    tree = ast.parse(path.read_text("utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):  # re-exported data, such as RESNET_VARIANTS
            found.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            source = path.parent.joinpath(*node.module.split(".")).with_suffix(".py")
            if not source.is_file():
                continue
            for alias in node.names:
                if alias.asname is None:
                    found.setdefault(alias.name, definitions(source).get(alias.name))
    return {k: v for k, v in found.items() if v is not None}


@pytest.mark.parametrize("ours", sorted(D2L_MODULE_FOR))
def test_chapter_helpers_match_d2l(ours):
    theirs = definitions(d2l_file(D2L_MODULE_FOR[ours]))
    mine = definitions(OUR_ROOT / f"{ours}.py")
    for name in CHAPTER_NAMES:
        assert name in mine, f"d2l_compat.{ours} lacks {name}"
        if name not in theirs:
            continue  # e.g. d2l.tensorflow has no evaluate_accuracy_gpu
        their_names, their_defaults = signature(theirs[name])
        my_names, my_defaults = signature(mine[name])
        if ours == "mindspore" and name == "train_ch6":
            # MindSpore has no d2l module; its documents call train_ch6 without a device
            assert my_names == their_names and my_defaults == ["None"]
            continue
        assert (my_names, my_defaults) == (their_names, their_defaults), f"{ours}.{name}"


def public_names(path):
    tree = ast.parse(path.read_text("utf-8"))
    assigned = [n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "__all__"]
    return ast.literal_eval(assigned[0])


EXTRAS = {"torch": ["fast_mode"]}  # PyTorch's opt-in channels-last + bfloat16 mode (README: GPU)


def assigned_names(path):
    """Top-level names bound by assignment, such as `nchw_shape = nchw_shape_for(FRAMEWORK)` or `a, b = f()`."""
    tree = ast.parse(path.read_text("utf-8"))
    targets = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
    return {e.id for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name)}


def test_every_framework_module_has_the_same_public_names():
    public = {fw: public_names(OUR_ROOT / f"{fw}.py") for fw in d2l_compat.FRAMEWORKS}
    shared = {fw: [n for n in names if n not in EXTRAS.get(fw, [])] for fw, names in public.items()}
    assert all(names == shared["mxnet"] for names in shared.values()), public
    for fw in d2l_compat.FRAMEWORKS:
        defined = set(definitions(OUR_ROOT / f"{fw}.py")) | assigned_names(OUR_ROOT / f"{fw}.py")
        assert [n for n in public[fw] if n not in defined] == [], fw
