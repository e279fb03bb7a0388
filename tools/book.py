"""Build the chapter as an HTML book: one page for the lesson with five framework tabs, one for the variants.

Usage: python tools/book.py build [--out build/book] [--notebooks notebooks] [--source lesson/resnet.md]
       python tools/book.py serve [--out build/book] [--port 8000]

`build` writes MyST pages from lesson/resnet.md and the committed notebooks' stored outputs (nothing
is executed), then runs Sphinx (book/conf.py) offline. Shared prose appears once; each run of
framework-specific cells becomes a tab set whose tabs switch together (sphinx-design's sync group,
remembered in the browser's local storage), and a paragraph that differs between frameworks only by
a substitution or a quote becomes a small tab set of its own. The site is written to a temporary
folder and moved into place when complete. `serve` serves it on 127.0.0.1 only.
"""
import argparse
import functools
import hashlib
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lesson as lesson_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONF = ROOT / "book"
NOTEBOOK_DIR = ROOT / "notebooks"
VARIANTS = "6-variants.ipynb"
OUT = ROOT / "build" / "book"
FRAMEWORKS = list(lesson_source.NOTEBOOKS)  # the tabs' order: PyTorch, MXNet, TensorFlow, Paddle, MindSpore
PLUMBING = re.compile(r"^# NBVAL_\w+[^\n]*\n?", re.MULTILINE)  # test markers: not part of the lesson
ATTACHMENT = re.compile(r"\(attachment:([^)\s]+)\)")
FENCE = re.compile(r"^(`{3,}|~{3,})")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
OUTSIDE = re.compile(r"\[([^\]]+)\]\(\.\./[^)\s]*\)")


class BookError(Exception):
    """The book cannot be built: the notebooks are out of date, or a tool is missing."""


def framework_names(lesson):
    """{key: display name} of the five frameworks, from the source's own substitutions."""
    return lesson.metadata["lesson"]["substitutions"]["framework"]


def notebook_cells(lesson, framework, folder=NOTEBOOK_DIR):
    """The framework notebook's cells, one per source cell that goes into it, checked against the source."""
    path = folder / lesson_source.NOTEBOOKS[framework]
    stored = nbformat.read(path, as_version=4).cells
    wanted = lesson_source.lesson_cells(lesson, framework)
    if len(stored) != len(wanted) or any((c.cell_type, c.source) != (t, s) for c, (t, s, _) in zip(stored, wanted)):
        raise BookError(f"{path.name} is not what lesson/resnet.md generates: run `make notebooks` first")
    return iter(stored)


def blocks(markdown):
    """The markdown's top-level blocks (split at blank lines outside fenced code and $$ math)."""
    out, current, fence, math = [], [], None, False
    for line in markdown.split("\n"):
        stripped, mark = line.strip(), FENCE.match(line.strip())
        if fence is None and not math and mark:
            fence = mark[1]
        elif fence:
            fence = None if stripped.startswith(fence) and not stripped[len(fence):].strip() else fence
        elif math:
            math = not stripped.endswith("$$")
        elif stripped.startswith("$$"):
            math = stripped == "$$" or not stripped.endswith("$$")
        if not line.strip() and fence is None and not math:
            if current:
                out.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append("\n".join(current))
    return out


class Page:
    """A MyST page being written, and the figures it needs."""

    def __init__(self, src, names):
        self.src, self.names, self.parts, self.tab_sets = src, names, [], 0
        (src / "figures").mkdir(parents=True, exist_ok=True)

    def figure(self, name, data):
        """The page-relative path of an attachment, written once per content."""
        import base64
        raw = base64.b64decode(data["image/png"] if "image/png" in data else next(iter(data.values())))
        path = f"figures/{hashlib.sha1(raw).hexdigest()[:10]}-{name}"
        (self.src / path).write_bytes(raw)
        return path

    def markdown(self, cell, source=None):
        """The cell's markdown, its attachment links pointing at written figures."""
        text = cell.source if source is None else source
        attachments = cell.get("attachments") or {}

        def link(match):
            name = match[1]
            if name not in attachments:
                raise BookError(f"the markdown links attachment:{name}, which its notebook cell does not store "
                                "(run `make img`)")
            return f"({self.figure(name, attachments[name])})"
        # a link out of notebooks/ (to the README) has no page in the book: its text stays, unlinked
        return OUTSIDE.sub(r"\1", ATTACHMENT.sub(link, text))

    def code(self, cell):
        """The code cell's source and its stored outputs, as MyST."""
        parts = [f"```python\n{PLUMBING.sub('', cell.source).strip()}\n```"]
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text = out.text
            elif "text/plain" in out.get("data", {}):
                text = out.data["text/plain"]
            else:
                raise BookError(f"an output of type {sorted(out.get('data', {}))} has no renderer in the book")
            text = ANSI.sub("", text)  # a terminal's colours (Keras' errors): Jupyter draws them, a page cannot
            fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
            parts.append(f'{fence}{{code-block}} text\n:class: cell-output\n\n{text.rstrip()}\n{fence}')
        return "\n\n".join(parts)

    def tabs(self, contents):
        """A tab set with one tab per framework, synced with every other tab set of the site."""
        self.tab_sets += 1
        items = []
        for framework in FRAMEWORKS:
            body = contents.get(framework) or f"*{self.names[framework]} 没有这一步。*"
            items.append(f":::::{{tab-item}} {self.names[framework]}\n:sync: {framework}\n\n{body}\n:::::")
        self.parts.append("::::::{tab-set}\n:sync-group: framework\n:class: framework-tabs\n\n"
                          + "\n\n".join(items) + "\n::::::")

    def add(self, text):
        self.parts.append(text)

    def write(self, name):
        (self.src / name).write_text("\n\n".join(self.parts) + "\n", encoding="utf-8")


def book_heading(source, substitutions):
    """The source's heading with the book's own values (`book:` in a substitution's table), or None."""
    try:
        return lesson_source.render(source, "book", substitutions)
    except lesson_source.LessonError:
        return None


def shared_heading(versions, book_value=None):
    """One heading for the five frameworks' versions of it: the book's value, else their longest common end."""
    if book_value:
        return book_value
    level = re.match(r"#+ ", versions[0])[0]
    prefix = os.path.commonprefix(versions)
    suffix = os.path.commonprefix([v[::-1] for v in versions])[::-1]
    text = max(prefix[len(level):], suffix, key=len).strip(" ：:的")
    if not text:
        raise BookError(f"the five frameworks' headings {versions} share no text: give the book a value "
                        "(a `book:` entry in the substitution's table)")
    return level + text


def inline_switch(block, substitutions):
    """The block with each {{name}} as five spans, one per framework, that the chosen tab shows (or None).

    None where a span cannot go: inside code, a formula, a link or an HTML tag, or a quote.
    """
    if "<!-- quote:" in block:
        return None
    for match in lesson_source.PLACEHOLDER.finditer(block):
        before = block[:match.start()]
        if before.count("`") % 2 or before.count("$") % 2 or re.search(r"\]\([^)]*$|<[^>]*$", before):
            return None

    def spans(match):
        values = {fw: lesson_source.render(match[0], fw, substitutions) for fw in FRAMEWORKS}
        return "".join(f'<span class="fw-text" data-fw="{fw}">{value}</span>' for fw, value in values.items())
    return lesson_source.PLACEHOLDER.sub(spans, block)


def shared_markdown(page, source, stored, rendered, substitutions):
    """A shared markdown cell: each block once where the five agree; where they differ, a block whose
    names switch with the chosen tab, else a tab set of that block."""
    split = {fw: blocks(text) for fw, text in rendered.items()}
    if len({len(b) for b in split.values()}) != 1:  # a quote of another length: the cell as a whole
        page.tabs(rendered)
        return
    sources = blocks(source)
    aligned = len(sources) == len(split[FRAMEWORKS[0]])
    for index in range(len(split[FRAMEWORKS[0]])):
        versions = {fw: split[fw][index] for fw in FRAMEWORKS}
        switch = aligned and inline_switch(sources[index], substitutions)
        if len(set(versions.values())) == 1:
            page.add(versions[FRAMEWORKS[0]])
        elif versions[FRAMEWORKS[0]].startswith("#"):
            book_value = aligned and book_heading(sources[index], substitutions)
            page.add(shared_heading(list(versions.values()), book_value or None))
        elif switch:
            page.add(page.markdown(stored, switch))  # `stored`: a notebook's cell, for its attachments
        else:
            page.tabs(versions)


def chapter(page, lesson, folder=NOTEBOOK_DIR):
    """Write the lesson's page: shared cells once, framework runs as tab sets."""
    stored = {fw: notebook_cells(lesson, fw, folder) for fw in FRAMEWORKS}
    run = {}

    def flush():
        if run:
            page.tabs({fw: "\n\n".join(parts) for fw, parts in run.items()})
            run.clear()
    for cell in lesson.cells:
        tags = cell.metadata.get(lesson_source.TAG)
        cells = {fw: next(stored[fw]) for fw in (tags or FRAMEWORKS)}
        if tags is not None:
            for fw, nb_cell in cells.items():
                run.setdefault(fw, []).append(page.markdown(nb_cell) if nb_cell.cell_type == "markdown"
                                              else page.code(nb_cell))
            continue
        flush()
        if cell.cell_type == "markdown":
            rendered = {fw: page.markdown(c) for fw, c in cells.items()}
            shared_markdown(page, cell.source, cells[FRAMEWORKS[0]], rendered,
                            lesson.metadata["lesson"]["substitutions"])
        else:
            page.add(f"```python\n{PLUMBING.sub('', cell.source).strip()}\n```")
            outputs = {fw: page.code(c).split("\n\n", 1)[1] if c.get("outputs") else "" for fw, c in cells.items()}
            if any(outputs.values()):
                page.tabs({fw: text or "*（没有存储的输出）*" for fw, text in outputs.items()})
    flush()


def downloads(names):
    """The raw-HTML bar above the chapter: a download link per notebook, and the side-by-side switch."""
    links = " · ".join(f'<a class="download" href="notebooks/{lesson_source.NOTEBOOKS[fw]}" download>{names[fw]}</a>'
                       for fw in FRAMEWORKS)
    options = "".join(f'<option value="{fw}">{names[fw]}</option>' for fw in FRAMEWORKS)
    return ("```{raw} html\n"
            f'<div class="book-toolbar"><p>下载笔记本：{links}</p>\n'
            '<p class="side-by-side-controls"><label><input type="checkbox" id="side-by-side"> 并排对照两个框架的代码</label>\n'
            f'<select id="side-left" aria-label="左栏">{options}</select>\n'
            f'<select id="side-right" aria-label="右栏">{options}</select></p></div>\n```')


def variants(page, folder=NOTEBOOK_DIR):
    """The variants notebook as a page of its own (no tabs: it is PyTorch's)."""
    nb = nbformat.read(folder / VARIANTS, as_version=4)
    for cell in nb.cells:
        page.add(page.markdown(cell) if cell.cell_type == "markdown" else page.code(cell))
    page.add(f'```{{raw}} html\n<p class="book-toolbar">下载笔记本：<a class="download" href="notebooks/{VARIANTS}" '
             'download>6-variants.ipynb</a></p>\n```')


def write_sources(src, folder=NOTEBOOK_DIR, source=lesson_source.SOURCE):
    """The book's MyST pages, figures and downloadable notebooks under `src`; returns the page counts."""
    lesson = lesson_source.load(source)
    names = framework_names(lesson)
    page = Page(src, names)
    cells = lesson.cells
    chapter(page, lesson, folder)
    page.parts.insert(1, downloads(names))  # below the chapter's title
    page.write("resnet.md")
    chapter_tabs = page.tab_sets
    extra = Page(src, names)
    variants(extra, folder)
    extra.write("variants.md")
    (src / "index.md").write_text(
        "# 残差网络（ResNet）\n\n《动手学深度学习》“残差网络（ResNet）”一节的五个框架版本。\n\n"
        "```{toctree}\n:maxdepth: 1\n\nresnet\nvariants\n```\n", encoding="utf-8")
    downloads_dir = src / "_extra" / "notebooks"
    downloads_dir.mkdir(parents=True, exist_ok=True)
    for name in [*lesson_source.NOTEBOOKS.values(), VARIANTS]:
        shutil.copy2(folder / name, downloads_dir / name)
    shared = sum(1 for c in cells if lesson_source.TAG not in c.metadata)
    return {"source cells": len(cells), "shared cells": shared, "tagged cells": len(cells) - shared,
            "tab sets": chapter_tabs}


def mathjax_file():
    """MathJax 3's one-file TeX-to-SVG build, from the django-static-mathjax package (no web fonts)."""
    try:
        import mathjax
    except ImportError:
        raise BookError("MathJax is not installed: `make setup` installs it (django-static-mathjax)") from None
    path = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    if not path.is_file():
        raise BookError(f"{path} is missing: reinstall django-static-mathjax")
    return path


def build(out=OUT, folder=NOTEBOOK_DIR, source=lesson_source.SOURCE):
    """Build the site into `out` (replaced only when the build succeeds); returns counts and timings."""
    start = time.monotonic()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".book-", dir=out.parent) as tmp:
        src, html = pathlib.Path(tmp) / "src", pathlib.Path(tmp) / "html"
        counts = write_sources(src, folder, source)
        (src / "_mathjax").mkdir()
        shutil.copy2(mathjax_file(), src / "_mathjax" / "tex-svg-full.js")
        command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", str(CONF),
                   str(src), str(html)]
        done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, BOOK_SOURCE=str(src)))
        if done.returncode:
            raise BookError(f"Sphinx failed (status {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        shutil.rmtree(html / ".doctrees", ignore_errors=True)
        if out.exists():
            shutil.rmtree(out)
        os.replace(html, out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {**counts, "seconds": round(time.monotonic() - start, 1), "site bytes": size}


def serve(out=OUT, port=8000):
    """Serve the built site on 127.0.0.1 until interrupted."""
    if not (pathlib.Path(out) / "index.html").is_file():
        raise BookError(f"{out} holds no built book: run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"the book: http://127.0.0.1:{port}/resnet.html (Ctrl+C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "serve"))
    parser.add_argument("--out", default=OUT, type=pathlib.Path)
    parser.add_argument("--port", default=8000, type=int)
    parser.add_argument("--notebooks", default=NOTEBOOK_DIR, type=pathlib.Path, help="the notebooks' folder")
    parser.add_argument("--source", default=lesson_source.SOURCE, type=pathlib.Path, help="the lesson's source")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.out, args.port)
            return 0
        counts = build(args.out, args.notebooks, args.source)
    except (BookError, lesson_source.LessonError) as err:
        print(f"book: {err}", file=sys.stderr)
        return 1
    print(f"book: {args.out}/index.html, {json.dumps(counts, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
