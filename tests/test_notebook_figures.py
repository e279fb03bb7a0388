"""Figures travel inside the notebooks, as attachments equal to their files in img/ (the
measured training curves: in bench/results/).

A link to ../img/ shows only when the Jupyter server's root lies above img/ (it did not under
`make lab`); an attachment shows wherever the notebook is opened. tools/embed_figures.py (run by
`make img`) writes them; this test fails when a figure was redrawn and not embedded again.
"""
import base64
import importlib.util
import json
import pathlib
import re

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)[^)]*\)|<img\b[^>]*\bsrc=[\"'](?P<html>[^\"']+)")
FIX = "run `make img` (or: python tools/embed_figures.py)"

spec = importlib.util.spec_from_file_location("embed_figures", ROOT / "tools" / "embed_figures.py")
embed_figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(embed_figures)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_image_is_an_attachment_equal_to_its_file_in_img(notebook):
    folders = embed_figures.source_folders()
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    problems = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for match in IMAGE.finditer("".join(cell["source"])):
            target = match["target"] or match["html"]
            if not target.startswith("attachment:"):
                problems.append(f"cell {index}: {target} is a link, not an attachment")
                continue
            name = target[len("attachment:"):]
            bundle = cell.get("attachments", {}).get(name)
            if not bundle:
                problems.append(f"cell {index}: no attachment named {name}")
            elif (folder := embed_figures.source_of(name, folders)) is None:
                problems.append(f"cell {index}: attachment {name} has no file img/{name} or bench/results/{name}")
            elif base64.b64decode(next(iter(bundle.values()))) != (folder / name).read_bytes():
                problems.append(f"cell {index}: attachment {name} differs from "
                                f"{(folder / name).relative_to(ROOT)}")
    assert not problems, f"{notebook.name}: " + "; ".join(problems) + f". To fix: {FIX}"


def make_notebook(path, *sources, attachments=None):
    cells = [nbformat.v4.new_markdown_cell(source) for source in sources]
    if attachments:
        cells[0]["attachments"] = attachments
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def attachment(data, mime="image/png"):
    return {mime: base64.b64encode(data).decode("ascii")}


@pytest.fixture
def tree(tmp_path):
    """A copy of the project's layout: img/ with a figure drawn as SVG and PNG, and notebooks/."""
    (tmp_path / "img").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "img" / "block.svg").write_text("<svg/>")
    (tmp_path / "img" / "block.png").write_bytes(b"\x89PNG first drawing")
    return tmp_path


def test_embedding_turns_img_links_into_attachments_and_leaves_other_images(tree):
    path = tree / "notebooks" / "n.ipynb"
    make_notebook(path, "A block:\n\n![残差块](../img/block.svg)\n\n![web](https://example.org/a.png)",
                  "no figure here")
    nb = nbformat.reads(embed_figures.embed(path, tree / "img"), as_version=4)
    first, second = nb.cells
    assert first.source == "A block:\n\n![残差块](attachment:block.png)\n\n![web](https://example.org/a.png)"
    assert first.attachments == {"block.png": attachment(b"\x89PNG first drawing")}
    assert "attachments" not in second and second.source == "no figure here"


def test_embedding_again_changes_nothing_until_img_changes(tree, monkeypatch):
    path = tree / "notebooks" / "n.ipynb"
    make_notebook(path, "![b](../img/block.svg)")
    monkeypatch.setattr(embed_figures, "IMG", tree / "img")
    assert embed_figures.main([str(path)]) == 0
    once = path.read_text(encoding="utf-8")
    assert embed_figures.main(["--check", str(path)]) == 0
    assert embed_figures.embed(path) == once  # idempotent: the same bytes again
    (tree / "img" / "block.png").write_bytes(b"\x89PNG redrawn")
    assert embed_figures.main(["--check", str(path)]) == 1  # a redrawn figure makes the notebook stale
    assert path.read_text(encoding="utf-8") == once  # --check writes nothing
    assert embed_figures.main([str(path)]) == 0
    cell = nbformat.read(path, as_version=4).cells[0]
    assert cell.source == "![b](attachment:block.png)"
    assert cell.attachments == {"block.png": attachment(b"\x89PNG redrawn")}


def test_a_pasted_attachment_is_kept_and_an_unused_one_dropped(tree):
    path = tree / "notebooks" / "n.ipynb"
    pasted = attachment(b"GIF89a pasted", "image/gif")
    make_notebook(path, "![p](attachment:pasted.gif) ![b](../img/block.svg)",
                  attachments={"pasted.gif": pasted, "old.png": attachment(b"unused")})
    cell = nbformat.reads(embed_figures.embed(path, tree / "img"), as_version=4).cells[0]
    assert cell.attachments == {"pasted.gif": pasted, "block.png": attachment(b"\x89PNG first drawing")}


def test_a_measured_curve_is_embedded_from_bench_results(tree, monkeypatch):
    results = tree / "bench" / "results"
    results.mkdir(parents=True)
    (results / "classroom-torch.png").write_bytes(b"\x89PNG curve")
    monkeypatch.setattr(embed_figures, "RESULTS", results)
    path = tree / "notebooks" / "n.ipynb"
    make_notebook(path, "![曲线](../bench/results/classroom-torch.png) ![b](../img/block.svg)")
    cell = nbformat.reads(embed_figures.embed(path, tree / "img"), as_version=4).cells[0]
    assert cell.source == "![曲线](attachment:classroom-torch.png) ![b](attachment:block.png)"
    assert cell.attachments == {"classroom-torch.png": attachment(b"\x89PNG curve"),
                                "block.png": attachment(b"\x89PNG first drawing")}
    (results / "classroom-torch.png").unlink()
    with pytest.raises(embed_figures.FigureError,
                       match=r"bench/results/classroom-torch.png is missing: run `make bench-classroom`"):
        embed_figures.embed(path, tree / "img")


def test_a_figure_missing_from_img_is_a_clear_error_and_nothing_is_written(tree, monkeypatch):
    path = tree / "notebooks" / "n.ipynb"
    make_notebook(path, "![c](../img/chart.svg)")
    before = path.read_bytes()
    with pytest.raises(embed_figures.FigureError,
                       match=r"n.ipynb, cell 0: img/chart.png is missing \(the PNG drawn beside chart.svg: "
                             r"JupyterLab shows no SVG attachment\): run `make img`"):
        embed_figures.embed(path, tree / "img")
    monkeypatch.setattr(embed_figures, "IMG", tree / "img")
    assert embed_figures.main([str(path)]) == 1
    assert path.read_bytes() == before
