"""The HTML book's builder (tools/book.py): its pages, offline by construction, and its clear refusals.

The browser test (tests/test_browser.py) checks the built book as a reader sees it; this file checks
what needs no browser.
"""
import importlib.util
import json
import pathlib
import re
import shutil

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
for needed in ("sphinx", "myst_parser", "sphinx_design", "jieba", "mathjax"):
    if importlib.util.find_spec(needed) is None:
        pytest.skip(f"the book's tools are not installed ({needed}): `make setup` installs them",
                    allow_module_level=True)

spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)
FOREIGN = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1)""", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "site"
    return out, book.build(out)


def test_blocks_keep_fenced_code_and_display_math_whole():
    text = "para one\n\n```python\na = 1\n\nb = 2\n```\n\n$$\nx\n\ny\n$$\n\n$$z$$\n\nlast"
    assert book.blocks(text) == ["para one", "```python\na = 1\n\nb = 2\n```", "$$\nx\n\ny\n$$", "$$z$$", "last"]


def test_a_heading_that_differs_by_framework_keeps_what_the_five_share():
    assert book.shared_heading(["# 残差网络（ResNet）：PyTorch 实现", "# 残差网络（ResNet）：MXNet 实现"]) == "# 残差网络（ResNet）"
    assert book.shared_heading(["## PyTorch 的写法要点", "## 飞桨（PaddlePaddle）的写法要点"]) == "## 写法要点"
    assert book.shared_heading(["## a", "## b"], "## 各框架") == "## 各框架"
    with pytest.raises(book.BookError, match="share no text"):
        book.shared_heading(["## a", "## b"])


def test_the_book_has_its_pages_and_asks_no_other_host(site):
    out, counts = site
    for page in ("index.html", "resnet.html", "variants.html", "search.html", "searchindex.js",
                 "_static/tex-svg-full.js", *(f"notebooks/{n}" for n in book.lesson_source.NOTEBOOKS.values())):
        assert (out / page).is_file(), f"the book lacks {page}"
    chapter = (out / "resnet.html").read_text(encoding="utf-8")
    assert chapter.count('class="sd-tab-set framework-tabs') == counts["tab sets"] > 10
    assert counts["shared cells"] + counts["tagged cells"] == counts["source cells"]
    for path in out.rglob("*"):
        if path.suffix in (".html", ".css") or path.name in ("book.js", "design-tabs.js"):
            found = FOREIGN.findall(path.read_text(encoding="utf-8", errors="replace"))
            assert not found, f"{path.relative_to(out)} loads from another host: {found[:3]}"
    print(f"book: {json.dumps(counts, ensure_ascii=False)}")


def test_an_out_of_date_notebook_stops_the_build_and_keeps_the_old_site(tmp_path, site):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    path = notebooks / book.lesson_source.NOTEBOOKS["paddle"]
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\n\n在 Jupyter 里直接改了一句。"
    nbformat.write(nb, path)
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the old site")
    with pytest.raises(book.BookError, match=r"4-paddle-resnet.ipynb is not what lesson/resnet.md generates: "
                                             r"run `make notebooks`"):
        book.build(out, notebooks)
    assert (out / "index.html").read_text() == "the old site"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".book-")] == []
