"""The exercises' reference solutions as the notebooks hold them, for tests and bench/exercises.py.

The solutions follow the training section. Their definition cells (blocks, stage builder, ...)
come before the comparison cell, which names its nets in `blocks_18` and trains them with
train_ch6; checked cells (`# NBVAL_CHECK_OUTPUT`) only print, and are left to nbval.
"""
from notebook_code import CHECK_MARKER, build_namespace, code_cells

COMPARISON_NAME = "blocks_18"  # exercises 4 and 6: three 18-layer nets
DEGRADATION_NAME = "nets_34"  # exercise 6, continued: plain and residual nets of 18 and 34 layers


def _after_training(framework):
    sources = [source for source, _, _ in code_cells(framework)]
    training = next(i for i, s in enumerate(sources) if "train_ch6(" in s)
    return sources[training + 1:]


def _trains(source, name):
    return name in source and "train_ch6(" in source


def comparison_cell(framework, name=COMPARISON_NAME):
    """The source of the cell that trains the nets named in `name` one after another."""
    for source in _after_training(framework):
        if _trains(source, name):
            return source
    raise LookupError(f"{framework}: no cell after the training section trains the nets of {name} with train_ch6")


def definitions(framework, name=COMPARISON_NAME):
    """The solutions' definition cells before the comparison cell of `name`: neither checks nor trainings."""
    found = []
    for source in _after_training(framework):
        if _trains(source, name):
            return found
        if not source.startswith(CHECK_MARKER) and "train_ch6(" not in source:
            found.append(source)
    raise LookupError(f"{framework}: the notebook has no cell that trains the nets of {name}")


def build_exercises(framework, name=COMPARISON_NAME):
    """The notebook's model code and the solution definitions before `name`'s comparison, in one namespace."""
    namespace = build_namespace(framework)
    exec(compile("\n\n".join(definitions(framework, name)), f"<exercises_{framework}>", "exec"), namespace)
    return namespace
