"""Carry the figures of img/ (and the measured curves of bench/results/) inside the notebooks,
as attachments of their markdown cells.

Usage: python tools/embed_figures.py [--check] [NOTEBOOK ...]   (default: every notebook)

A link `![alt](../img/NAME)` only shows when the Jupyter server's root lies above img/, so
`jupyter lab` started in notebooks/ shows broken images. An attachment travels with the notebook.
This tool rewrites such links to `![alt](attachment:NAME)` and stores the bytes of img/NAME as
that cell's attachment; run again (`make img` and `make bench-classroom` do), it refreshes the
attachments from their files, so img/ and bench/results/ stay the source of truth. `--check`
changes nothing and exits 1 when a notebook is stale.

JupyterLab and Notebook 7 show PNG, JPEG, GIF and WebP attachments but refuse SVG ones
("Cannot render unknown image mime type"), so a link to img/NAME.svg is embedded from the PNG
drawn beside it, img/NAME.png.
"""
import base64
import os
import pathlib
import re
import sys
import tempfile

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMG = ROOT / "img"
RESULTS = ROOT / "bench" / "results"
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
        ".webp": "image/webp"}
LINK = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
FIGURE_TARGET = re.compile(r"^(?P<folder>\.\./img/|\.\./bench/results/|attachment:)(?P<name>[^/]+)$")


class FigureError(Exception):
    """A link names a figure that img/ cannot provide."""


def source_folders(img_dir=None):
    """Where linked figures come from: link prefix -> folder (img/ first, then bench/results/)."""
    return {"../img/": img_dir or IMG, "../bench/results/": RESULTS}


def source_of(name, folders):
    """The folder an attachment `name` was embedded from, or None (a pasted image)."""
    return next((folder for folder in folders.values() if (folder / name).is_file()), None)


def attachment_name(name, img_dir, make_target="img", shown="img/"):
    """The file of `img_dir` that a link to `name` is embedded from (an SVG's PNG twin)."""
    path = pathlib.Path(name)
    if path.suffix.lower() == ".svg":
        path = path.with_suffix(".png")
    if path.suffix.lower() not in MIME:
        raise FigureError(f"{name}: JupyterLab shows only PNG, JPEG, GIF and WebP attachments")
    if not (img_dir / path.name).is_file():
        why = f" (the PNG drawn beside {name}: JupyterLab shows no SVG attachment)" if path.name != name else ""
        raise FigureError(f"{shown}{path.name} is missing{why}: run `make {make_target}`")
    return path.name


def embed_cell(cell, img_dir=None):
    """Rewrite the figure links of one markdown cell and set its attachments from their files."""
    folders = source_folders(img_dir)
    used = {}
    keep = dict(cell.get("attachments") or {})

    def relink(match):
        target = FIGURE_TARGET.match(match["target"])
        if not target:
            return match[0]  # a web address or some other image: not ours to change
        name = target["name"]
        if target["folder"] == "attachment:":
            folder = source_of(name, folders)
            if folder is None and name in keep:
                return match[0]  # an attachment that came from no folder of ours (a pasted image): keep it
            folder = folder or folders["../img/"]
        else:
            folder = folders[target["folder"]]
        shown = "img/" if folder == folders["../img/"] else "bench/results/"
        name = attachment_name(name, folder, "img" if shown == "img/" else "bench-classroom", shown)
        data = (folder / name).read_bytes()
        used[name] = {MIME[pathlib.Path(name).suffix.lower()]: base64.b64encode(data).decode("ascii")}
        return f"![{match['alt']}](attachment:{name}{match['title'] or ''})"

    cell.source = LINK.sub(relink, cell.source)
    referenced = {m["target"][len("attachment:"):] for m in LINK.finditer(cell.source)
                  if m["target"].startswith("attachment:")}
    attachments = {k: v for k, v in keep.items() if k in referenced}
    attachments.update(used)
    if attachments:
        cell["attachments"] = attachments
    else:
        cell.pop("attachments", None)


def embed(path, img_dir=None):
    """Embed the figures into the notebook at `path`; return the new text (the file is untouched)."""
    img_dir = img_dir or IMG
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            try:
                embed_cell(cell, img_dir)
            except FigureError as err:
                raise FigureError(f"{path.name}, cell {index}: {err}") from None
    return nbformat.writes(nb) + "\n"


def write_atomically(path, text):
    """Replace `path` by `text` through a temporary file, so no half-written notebook is left."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv):
    check = "--check" in argv
    paths = [pathlib.Path(p).resolve() for p in argv if p != "--check"] \
        or sorted((ROOT / "notebooks").glob("*.ipynb"))
    stale = []
    for path in paths:
        try:
            text = embed(path)
        except FigureError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        if text == path.read_text(encoding="utf-8"):
            continue
        stale.append(path)
        if not check:
            write_atomically(path, text)
            print(f"embedded the figures of img/ and bench/results/ into {path.name}")
    if check and stale:
        print("figures out of date in " + ", ".join(p.name for p in stale)
              + ": run `python tools/embed_figures.py` (or `make img`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
