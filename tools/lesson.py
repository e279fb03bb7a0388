"""Write notebooks 1-5 from the one source of the lesson, lesson/resnet.md (jupytext's MyST format).

Usage: python tools/lesson.py write|check [--source FILE] [NOTEBOOKS_FOLDER]   (default: notebooks/)

A source cell goes into every notebook, or with `frameworks: [torch, paddle]` in its metadata into
those only. In markdown cells `{{name}}` becomes the framework's value from the front matter's
`lesson.substitutions` ({{fw}}: the framework's key), and each quote is filled by
tools/quote_results.py. A generated cell whose source is unchanged keeps the committed cell
(outputs, attachments, id, metadata); an edited one keeps its id and the attachments its text
still names, but loses its outputs. `check` changes nothing and exits 1 naming each notebook
that differs from what the source generates, and its first differing cell.
"""
import argparse
import copy
import hashlib
import os
import pathlib
import re
import sys
import tempfile

import jupytext
import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import quote_results  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "lesson" / "resnet.md"
NOTEBOOKS = quote_results.NOTEBOOKS  # framework key -> notebook file name
TAG = "frameworks"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
ATTACHMENT = re.compile(r"\(attachment:([^)\s]+)")


class LessonError(Exception):
    """The source cannot be turned into notebooks (a bad tag, an unknown substitution, a quote)."""


def load(source=SOURCE):
    """The source as a notebook (jupytext's MyST reader), its tags checked."""
    nb = jupytext.reads(pathlib.Path(source).read_text(encoding="utf-8"), fmt="md:myst")
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get(TAG, list(NOTEBOOKS))
        if not tags or not isinstance(tags, list) or set(tags) - set(NOTEBOOKS):
            raise LessonError(f"{source}, cell {index}: {TAG}: {tags!r}; choose from {', '.join(NOTEBOOKS)}")
    return nb


def render(text, framework, substitutions):
    """`text` with each {{name}} replaced by the framework's value."""
    def value(match):
        name = match[1]
        if name == "fw":
            return framework
        found = substitutions.get(name, {}).get(framework)
        if not isinstance(found, str):
            raise LessonError(f"{{{{{name}}}}}: lesson.substitutions has no text for {framework}: {found!r}")
        return found
    return PLACEHOLDER.sub(value, text)


def cell_source(cell, framework, lesson):
    """The cell's text in the framework's notebook: markdown gets its substitutions and quotes."""
    if cell.cell_type != "markdown":
        return cell.source
    text = render(cell.source, framework, lesson.metadata.get("lesson", {}).get("substitutions", {}))
    try:
        return quote_results.quoted(text, framework)
    except quote_results.QuoteError as err:
        raise LessonError(f"quote_results: {err}") from None


def lesson_cells(lesson, framework):
    """[(cell_type, source, metadata)] of the framework's notebook, in the order of the source."""
    return [(cell.cell_type, cell_source(cell, framework, lesson),
             {k: v for k, v in cell.metadata.items() if k != TAG})
            for cell in lesson.cells if framework in cell.metadata.get(TAG, NOTEBOOKS)]


def _new_cell(cell_type, source, taken):
    """A cell with an id derived from its text, so that `write` gives the same file twice."""
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell,
            "raw": nbformat.v4.new_raw_cell}[cell_type]
    digest = hashlib.sha1(f"{cell_type}\n{source}".encode()).hexdigest()
    cell_id = next(digest[i:i + 8] for i in range(len(digest) - 7) if digest[i:i + 8] not in taken)
    return make(source, id=cell_id)


def _edited(old, source):
    """An edited cell: the committed cell's id and metadata, no outputs, the attachments still named."""
    cell = copy.deepcopy(old)
    cell.source = source
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    named = set(ATTACHMENT.findall(source))
    kept = {k: v for k, v in (cell.get("attachments") or {}).items() if k in named}
    cell.pop("attachments", None)
    if kept:
        cell.attachments = kept
    return cell


def merge(wanted, committed):
    """The notebook of the cells `wanted`, reusing what `committed` (or None) stores for them.

    Cells are matched on (cell_type, source), taking the committed ones in order; a cell left over
    is paired with an unmatched committed cell of its type between the same matched neighbours
    (it was edited in place), else it is new.
    """
    old = committed.cells if committed else []
    pool = {}
    for index, cell in enumerate(old):
        pool.setdefault((cell.cell_type, cell.source), []).append(index)
    match = [pool[(t, s)].pop(0) if pool.get((t, s)) else None for t, s, _ in wanted]
    edited = set()
    for g in range(len(wanted)):
        if match[g] is not None:
            continue
        lo = max([i for i in match[:g] if i is not None], default=-1)
        hi = min([i for i in match[g + 1:] if i is not None], default=len(old))
        free = [i for i in range(lo + 1, hi) if i not in match and old[i].cell_type == wanted[g][0]]
        if free:
            match[g] = free[0]
            edited.add(g)
    cells, taken = [], {c.get("id") for c in old}
    for g, ((cell_type, source, metadata), found) in enumerate(zip(wanted, match)):
        if found is None:
            cell = _new_cell(cell_type, source, taken)
        elif g in edited:
            cell = _edited(old[found], source)
        else:
            cell = copy.deepcopy(old[found])
        cell.metadata.update(copy.deepcopy(metadata))
        taken.add(cell.id)
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    if committed:
        nb.metadata = committed.metadata
        nb.nbformat, nb.nbformat_minor = committed.nbformat, committed.nbformat_minor
    return nb


def generate(lesson, framework, folder):
    """(path, text): the framework's notebook as the source makes it, merged with the one in `folder`."""
    path = pathlib.Path(folder) / NOTEBOOKS[framework]
    committed = nbformat.read(path, as_version=4) if path.is_file() else None
    nb = merge(lesson_cells(lesson, framework), committed)
    if committed is None:
        nb.metadata = {"kernelspec": lesson.metadata["kernelspec"]}
    return path, nbformat.writes(nb) + "\n"  # the committed notebooks' own formatting (nbformat.write)


def first_difference(path, text):
    """Where the notebook at `path` differs from `text`, in words."""
    if not path.is_file():
        return "missing"
    have, want = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4), nbformat.reads(text, as_version=4)
    differ = [i for i, (a, b) in enumerate(zip(have.cells, want.cells)) if a != b]
    if differ:
        a, b = have.cells[differ[0]], want.cells[differ[0]]
        what = "its source" if a.source != b.source else "what it stores (outputs, attachments, metadata)"
        at = len(os.path.commonprefix([a.source, b.source]))
        near = f": the notebook has {a.source[max(0, at - 20):at + 40]!r}" if a.source != b.source else ""
        more = f" (and {len(differ) - 1} more cell(s))" if len(differ) > 1 else ""
        return f"cell {differ[0]} ({a.cell_type}) differs in {what}{near}{more}"
    if len(have.cells) != len(want.cells):
        return f"it has {len(have.cells)} cells, the source makes {len(want.cells)}"
    return "its JSON formatting differs"


def _shown(path):
    path = pathlib.Path(path).resolve()
    return path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path


def _write_atomically(path, text):
    """Replace `path` through a temporary file, so that no half-written notebook is ever left."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _differing(folder, source):
    """(path, generated text) of each notebook of `folder` that is not what the source generates."""
    lesson = load(source)
    for framework in NOTEBOOKS:
        path, text = generate(lesson, framework, folder)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            yield path, text


def check(folder=ROOT / "notebooks", source=SOURCE):
    """A line for each notebook of `folder` that is not what the source generates."""
    return [f"{_shown(path)}: {first_difference(path, text)}" for path, text in _differing(folder, source)]


def write(folder=ROOT / "notebooks", source=SOURCE):
    """Rewrite the notebooks of `folder` that differ from what the source generates; returns them."""
    written = []
    for path, text in list(_differing(folder, source)):
        _write_atomically(path, text)
        written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "check"))
    parser.add_argument("folder", nargs="?", default=ROOT / "notebooks", type=pathlib.Path)
    parser.add_argument("--source", default=SOURCE, type=pathlib.Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            written = write(args.folder, args.source)
            for path in written:
                print(f"wrote {_shown(path)}")
            print(f"{len(written)} notebook(s) rewritten from {_shown(args.source)}")
            return 0
        problems = check(args.folder, args.source)
    except LessonError as err:
        print(f"lesson: {err}", file=sys.stderr)
        return 1
    for line in problems:
        print(line)
    if problems:
        print(f"the notebooks above are not what {_shown(args.source)} generates: run `make notebooks` "
              "(python tools/lesson.py write)", file=sys.stderr)
        return 1
    print(f"the {len(NOTEBOOKS)} notebooks are what {_shown(args.source)} generates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
