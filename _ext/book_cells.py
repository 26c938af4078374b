"""What the hygiene tests and the proof ledger both need to know about the book's notebooks.

Each code cell has one role (CONTRIBUTING.md, "Every code cell has one role"); check cells name
the labelled results they check and the scope of the check. This module reads that metadata and
the labels the Markdown defines. It imports nothing from Sphinx, so the tests and the ledger
extension (`_ext/ledger.py`) share it.
"""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]  # the repository root
ROLES = ("teaching", "check", "plumbing", "solution", "slide")
HIDING = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
RESULT_KINDS = ("theorem", "lemma", "proposition", "corollary")
SCOPES = ("symbolic", "numerical")

_PRF = re.compile(r"^(`{3,}|:{3,})\{prf:(\w+)\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)", re.MULTILINE)
_OPTION_LABEL = re.compile(r"^:label:\s*(\S+)", re.MULTILINE)
_DIRECTIVE_LABEL = re.compile(r"^(`{3,}|:{3,})\{(\w[\w:-]*)\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)", re.MULTILINE)
_EQ_LABEL = re.compile(r"\$\$\s*\(([\w-]+)\)")
_TARGET = re.compile(r"^\(([\w-]+)\)=\s*$", re.MULTILINE)
_TITLE = re.compile(r"^(`{3,}|:{3,})\{prf:\w+\}[ \t]*([^\n]*)")


@dataclass
class Result:
    """A labelled prf: result (theorem, lemma, proposition, corollary)."""

    kind: str
    label: str
    title: str
    notebook: pathlib.Path


@dataclass
class Check:
    """A check cell: the labels it checks, its scope, and its toggle prompt."""

    checks: list[str]
    scope: str
    prompt: str
    notebook: pathlib.Path
    index: int


@dataclass
class Notebook:
    path: pathlib.Path
    cells: list[dict]
    labels: set[str] = field(default_factory=set)
    results: list[Result] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def book_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("book", {})
    return meta if isinstance(meta, dict) else {}


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def notebook_paths(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The book's notebooks: chapters first, then appendices, in file-name order."""
    paths: list[pathlib.Path] = []
    for folder in ("chapters", "appendices"):
        paths += sorted(p for p in (root / folder).glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return paths


def read(path: pathlib.Path) -> Notebook:
    """Parse one notebook: its labels, its prf: results and its check cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    nb = Notebook(path, cells)
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            nb.labels |= set(_EQ_LABEL.findall(text)) | set(_TARGET.findall(text))
            for match in _DIRECTIVE_LABEL.finditer(text):
                nb.labels |= set(_OPTION_LABEL.findall(match.group(3)))
            for match in _PRF.finditer(text):
                kind = match.group(2)
                label = _OPTION_LABEL.search(match.group(3))
                if kind in RESULT_KINDS and label:
                    title = _TITLE.match(text[match.start():]).group(2).strip()
                    nb.results.append(Result(kind, label.group(1), title, path))
        elif cell["cell_type"] == "code":
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if isinstance(figure, dict) and figure.get("name"):
                nb.labels.add(figure["name"])
            meta = book_meta(cell)
            if meta.get("role") == "check":
                prompt = cell.get("metadata", {}).get("mystnb", {}).get("code_prompt_show", "")
                nb.checks.append(Check(list(meta.get("checks", [])), str(meta.get("scope", "")), prompt, path, i))
    return nb


def read_book(root: pathlib.Path = ROOT) -> list[Notebook]:
    return [read(p) for p in notebook_paths(root)]
