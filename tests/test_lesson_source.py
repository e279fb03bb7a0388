"""Notebooks 1-5 are written from one source, lesson/resnet.md, by tools/lesson.py.

The committed notebooks must be exactly what the source generates; the generator must keep what
an unchanged cell stores and drop the outputs of an edited one; tags and substitutions must put
each cell into the right notebooks.
"""
import collections
import importlib.util
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("lesson", ROOT / "tools" / "lesson.py")
lesson = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lesson)
FRAMEWORKS = list(lesson.NOTEBOOKS)


@pytest.fixture(scope="module")
def source():
    return lesson.load()


@pytest.fixture
def copies(tmp_path):
    """A folder holding copies of the five committed notebooks."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in lesson.NOTEBOOKS.values():
        shutil.copy(ROOT / "notebooks" / name, folder / name)
    return folder


def read(path):
    return nbformat.read(path, as_version=4)


def test_the_committed_notebooks_are_what_the_source_generates():
    problems = lesson.check()
    assert not problems, "\n".join(problems) + "\nrun `make notebooks` (python tools/lesson.py write)"


def test_the_notebooks_keep_nbformats_own_formatting():
    for name in lesson.NOTEBOOKS.values():
        path = ROOT / "notebooks" / name
        assert nbformat.writes(read(path)) + "\n" == path.read_text(encoding="utf-8"), name


def test_check_names_an_edited_notebook_and_its_cell(copies):
    path = copies / lesson.NOTEBOOKS["tensorflow"]
    nb = read(path)
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## 小结"))
    nb.cells[index].source += "\n- 一句只写进了笔记本的话。"
    nbformat.write(nb, path)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "lesson.py"), "check", str(copies)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.count("\n") == 1 and lesson.NOTEBOOKS["tensorflow"] in run.stdout, run.stdout
    assert f"cell {index} (markdown)" in run.stdout and "make notebooks" in run.stderr
    assert lesson.write(copies) == [path] and lesson.check(copies) == []
    assert path.read_bytes() == (ROOT / "notebooks" / path.name).read_bytes()


def test_unchanged_cells_keep_what_they_store_and_edited_ones_lose_their_outputs(copies, tmp_path):
    text = lesson.SOURCE.read_text(encoding="utf-8")
    edits = {"d2l.batch_norm_settings()\n```": "d2l.batch_norm_settings()  # edited\n```",
             "## 训练模型": "## 训练这个模型"}
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    edited_source = tmp_path / "resnet.md"
    edited_source.write_text(text, encoding="utf-8")
    assert len(lesson.write(copies, edited_source)) == len(FRAMEWORKS)
    for framework, name in lesson.NOTEBOOKS.items():
        before, after = read(ROOT / "notebooks" / name), read(copies / name)
        assert len(before.cells) == len(after.cells) and before.metadata == after.metadata
        code = next(i for i, c in enumerate(before.cells) if c.source.endswith("\nd2l.batch_norm_settings()"))
        prose = next(i for i, c in enumerate(before.cells) if c.source.startswith("## 训练模型"))
        assert before.cells[code].outputs and before.cells[prose].attachments
        for index, (old, new) in enumerate(zip(before.cells, after.cells)):
            if index not in (code, prose):
                assert old == new, f"{name}, cell {index}: unchanged, yet not kept as it was"
        old, new = before.cells[code], after.cells[code]
        assert new.source.endswith("# edited") and new.outputs == [] and new.execution_count is None
        assert new.id == old.id
        old, new = before.cells[prose], after.cells[prose]
        assert new.source.startswith("## 训练这个模型") and new.id == old.id
        assert new.attachments == old.attachments and list(new.attachments) == [f"classroom-{framework}.png"]
    assert lesson.check(copies, edited_source) == []


def test_untagged_cells_are_in_all_five_notebooks_and_tagged_ones_only_in_theirs(source):
    """Checked on the committed notebooks: each source cell's text is a cell of exactly its notebooks."""
    cells = {fw: collections.Counter((c.cell_type, c.source) for c in read(ROOT / "notebooks" / name).cells)
             for fw, name in lesson.NOTEBOOKS.items()}
    for index, cell in enumerate(source.cells):
        tags = cell.metadata.get(lesson.TAG, FRAMEWORKS)
        if lesson.TAG in cell.metadata:
            assert len(set(tags)) == len(tags) < len(FRAMEWORKS), f"lesson cell {index}: untag a cell for all five"
        texts = {fw: (cell.cell_type, lesson.cell_source(cell, fw, source)) for fw in tags}
        for framework in FRAMEWORKS:
            if framework in tags:
                assert cells[framework][texts[framework]], f"lesson cell {index} is not in {framework}'s notebook"
            else:
                assert not any(cells[framework][text] for text in texts.values()), \
                    f"lesson cell {index}, tagged {tags}, is in {framework}'s notebook too"


def test_tags_and_substitutions_on_a_small_lesson(tmp_path):
    front = lesson.SOURCE.read_text(encoding="utf-8").split("\n---\n", 1)[0] + "\n---\n"
    small = tmp_path / "small.md"
    small.write_text(front + '\n# {{framework}}（{{fw}}）\n\n+++ {"frameworks": ["paddle"]}\n\n只在飞桨\n\n'
                     "```{code-cell} ipython3\n:frameworks: [torch, mindspore]\n\nx = 1\n```\n", encoding="utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    assert len(lesson.write(folder, small)) == len(FRAMEWORKS) and lesson.check(folder, small) == []
    sources = {fw: [c.source for c in read(folder / name).cells] for fw, name in lesson.NOTEBOOKS.items()}
    assert sources["paddle"] == ["# PaddlePaddle（paddle）", "只在飞桨"]
    assert sources["torch"] == ["# PyTorch（torch）", "x = 1"] and sources["mindspore"][1:] == ["x = 1"]
    assert sources["mxnet"] == ["# MXNet（mxnet）"]
    bad = {"{{nothing}}": "no text for torch", '+++ {"frameworks": ["jax"]}\n\nx': "choose from"}
    for text, message in bad.items():
        small.write_text(front + "\n" + text + "\n", encoding="utf-8")
        with pytest.raises(lesson.LessonError, match=message):
            lesson.check(folder, small)


def test_quotes_are_filled_by_quote_results(copies, monkeypatch):
    """Each quoted number has one home: the source holds the empty marker, quote_results the text."""
    assert "<!-- quote:bn --><!-- /quote -->" in lesson.SOURCE.read_text(encoding="utf-8")
    monkeypatch.setitem(lesson.quote_results.QUOTES, "bn", lambda framework: f"另一个数（{framework}）")
    problems = lesson.check(copies)
    assert len(problems) == len(FRAMEWORKS) and all("differs in its source" in p for p in problems), problems


def test_cells_are_matched_by_content_and_an_edited_cell_keeps_its_place():
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s, id=s, execution_count=1, outputs=[
        nbformat.v4.new_output("stream", text=s)]) for s in "ABCD"])

    def merged(*sources):
        return [(c.source, c.id, c.execution_count, len(c.outputs))
                for c in lesson.merge([("code", s, {}) for s in sources], old).cells]

    # moved cells keep everything, whatever their position; B2 replaces B between A and C
    assert merged("B", "A", "C") == [("B", "B", 1, 1), ("A", "A", 1, 1), ("C", "C", 1, 1)]
    assert merged("A", "B2", "C", "D")[1] == ("B2", "B", None, 0)
    new = merged("X", "A")[0]
    assert new[0] == "X" and new[1] not in "ABCD" and new[2:] == (None, 0)
