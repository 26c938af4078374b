#!/usr/bin/env python3
"""Prepare every notebook for JupyterLab: the book's MathJax macros, and the book's collapsed cells.

    python tools/frontmatter.py            # add or refresh the cell, set the collapsed sources

The site defines the macros (\\R, \\softmax, …) in `_config.yml`; JupyterLab knows nothing of
that file. jupyterlab-myst reads YAML front matter from a notebook's first markdown cell, so each
notebook starts with a small cell holding the same macros under `math:`. The cell is tagged
`remove-cell`, so the book never shows it, and it is skipped on the slides. The hygiene test
`tests/test_notebooks.py::test_jupyterlab_macros_match_the_site` keeps it equal to `_config.yml`.

It also collapses in JupyterLab what the book collapses or removes: the source of every check,
plumbing, slide-only and solution cell (and of the macros cell) gets the standard
`metadata.jupyter.source_hidden`, so JupyterLab shows its first line and `•••` (a click opens it)
while a figure or a printed result stays in view, and a teaching cell stays open. The role
(`metadata.book.role`, CONTRIBUTING) decides; `test_jupyterlab_collapses_what_the_book_collapses`
checks it.
"""

from __future__ import annotations

import pathlib
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
MARK = "# The book's macros, for JupyterLab (jupyterlab-myst); the site reads _config.yml."
COLLAPSED_ROLES = ("check", "plumbing", "slide", "solution", "frontmatter")


def collapsed(cell: dict) -> bool:
    """Whether JupyterLab should show this cell's source collapsed (its role is not teaching)."""
    return cell.get("metadata", {}).get("book", {}).get("role") in COLLAPSED_ROLES


def set_collapsed(cell: dict) -> None:
    """Set or clear metadata.jupyter.source_hidden from the cell's role."""
    meta = cell.setdefault("metadata", {})
    jupyter = meta.get("jupyter", {})
    if collapsed(cell):
        jupyter["source_hidden"] = True
    else:
        jupyter.pop("source_hidden", None)
    if jupyter:
        meta["jupyter"] = jupyter
    else:
        meta.pop("jupyter", None)


def site_macros(root: pathlib.Path = ROOT) -> dict[str, str]:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    return {f"\\{name}": value for name, value in macros.items()}


def cell_source(root: pathlib.Path = ROOT) -> str:
    body = yaml.safe_dump({"math": site_macros(root)}, allow_unicode=True, sort_keys=True)
    return f"---\n{MARK}\n{body}---"


def frontmatter_cell(root: pathlib.Path = ROOT) -> dict:
    return {
        "cell_type": "markdown",
        "metadata": {"tags": ["remove-cell"], "book": {"role": "frontmatter"},
                     "slideshow": {"slide_type": "skip"}},
        "source": cell_source(root),
    }


def has_frontmatter(nb: dict) -> bool:
    cells = nb.get("cells", [])
    return bool(cells) and cells[0]["cell_type"] == "markdown" and MARK in "".join(cells[0]["source"])


def apply(path: pathlib.Path, root: pathlib.Path = ROOT) -> bool:
    """Insert or refresh the front-matter cell; return True if the file changed."""
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    cell = nbformat.from_dict(frontmatter_cell(root))
    if has_frontmatter(nb):
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    if nb.nbformat_minor >= 5:
        cell["id"] = "book-macros"
    for each in nb.cells:
        set_collapsed(each)
    new = nbformat.writes(nb)
    if not new.endswith("\n"):
        new += "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def main() -> int:
    for folder in ("chapters", "appendices"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            if apply(path):
                print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
