"""Re-execute the notebooks (smoke preset) and store the outputs nbval compares against.

Usage: python tools/refresh_notebooks.py [NOTEBOOK ...]   (default: every notebook)

Outputs of the training cells (the exercises' comparison cell included: it calls train_ch6) are
removed afterwards: a smoke run's numbers would only mislead a reader, and nbval does not compare
those cells. Consecutive stream outputs are merged, and nbclient's execution timestamps are dropped.
"""
import os
import pathlib
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRAINING_MARKERS = ("train_ch6", "classroom_preset")


def refresh(path):
    nb = nbformat.read(path, as_version=4)
    os.environ["D2L_COMPAT_SMOKE"] = "1"
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if any(marker in cell.source for marker in TRAINING_MARKERS):
            cell.outputs, cell.execution_count = [], None
            continue
        merged = []
        for out in cell.outputs:
            if merged and out.output_type == "stream" and merged[-1].output_type == "stream" \
                    and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
        stderr = [o for o in merged if o.output_type == "stream" and o.name == "stderr"]
        if stderr:
            raise SystemExit(f"{path.name}: a cell wrote to stderr; silence it first:\n{stderr[0].text}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.tmp")  # never a half-written notebook
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)
    print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    paths = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook in paths:
        refresh(notebook)
