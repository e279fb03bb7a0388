"""The exercises' reference solutions as the notebooks hold them, for tests and bench/exercises.py.

The solutions follow the training section. Their definition cells (blocks, stage builder, ...)
come before the comparison cell, which names its nets in `blocks_18` and trains them with
train_ch6; checked cells (`# NBVAL_CHECK_OUTPUT`) only print, and are left to nbval.
"""
from notebook_code import CHECK_MARKER, build_namespace, code_cells

COMPARISON_NAME = "blocks_18"


def _after_training(framework):
    sources = [source for source, _, _ in code_cells(framework)]
    training = next(i for i, s in enumerate(sources) if "train_ch6(" in s)
    return sources[training + 1:]


def comparison_cell(framework):
    """The source of the cell that trains the exercises' nets one after another."""
    for source in _after_training(framework):
        if COMPARISON_NAME in source and "train_ch6(" in source:
            return source
    raise LookupError(f"{framework}: no cell after the training section defines {COMPARISON_NAME} "
                      "and calls train_ch6")


def definitions(framework):
    """The solutions' definition cells, in order: everything before the comparison cell but the checks."""
    found = []
    for source in _after_training(framework):
        if COMPARISON_NAME in source and "train_ch6(" in source:
            return found
        if not source.startswith(CHECK_MARKER):
            found.append(source)
    raise LookupError(f"{framework}: the notebook has no comparison cell")


def build_exercises(framework):
    """The notebook's model code and solution definitions, executed in one namespace."""
    namespace = build_namespace(framework)
    exec(compile("\n\n".join(definitions(framework)), f"<exercises_{framework}>", "exec"), namespace)
    return namespace
