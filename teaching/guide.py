"""Checks behind the teaching guide (teaching/*.ipynb), so that a guide cannot drift from its book.

``check_plan(guide, "ch3")`` reads the guide notebook's own section for Chapter 3 and asserts that
its 50-minute lecture plan

* runs from minute 0 to minute 50 without gaps or overlaps,
* names only slides that the chapter's deck has (each ``"quoted title"`` in the plan's slide column
  is a heading of a cell in the chapter notebook), in the order of the deck,
* recommends only exercises the chapter has (``{ref}`chN-ex-…```) and errata that exist.

The guide notebooks import this module (their working directory is ``teaching/``).
"""

from __future__ import annotations

import pathlib
import re

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAN_ROW = re.compile(r"^\|\s*(\d+)\s*[–-]\s*(\d+)\s*\|([^|]*)\|")
HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*$", re.M)
LABEL = re.compile(r"^\(([\w-]+)\)=\s*$", re.M)
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label:\s*(\S+)")


def chapter_notebook(label: str) -> pathlib.Path:
    number = int(label.removeprefix("ch"))
    (path,) = (ROOT / "chapters").glob(f"{number:02d}_*.ipynb")
    return path


def _markdown(path: pathlib.Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def deck_titles(label: str) -> list[str]:
    """Headings of the chapter's cells, in order (the deck's slide titles are among them)."""
    titles = []
    for cell in _markdown(chapter_notebook(label)):
        if cell.source.lstrip().startswith("---"):
            continue  # front matter
        titles += [t.strip() for t in HEADING.findall(cell.source)]
    return titles


def _section(guide: pathlib.Path, label: str) -> str:
    """The guide's markdown for one chapter: from (teach-chN)= to the next (teach-…)= label."""
    text, inside = [], False
    for cell in _markdown(guide):
        labels = LABEL.findall(cell.source)
        if f"teach-{label}" in labels:
            inside = True
        elif inside and any(lab.startswith("teach-") and not lab.startswith(f"teach-{label}-")
                            for lab in labels):
            break
        if inside:
            text.append(cell.source)
    assert text, f"{guide.name}: no section labelled (teach-{label})="
    return "\n\n".join(text)


def check_plan(guide: str | pathlib.Path, label: str) -> str:
    """Assert that the guide's plan for chapter `label` follows its deck; a one-line summary."""
    guide = pathlib.Path(guide)
    section = _section(guide, label)
    rows = [PLAN_ROW.match(line) for line in section.splitlines()]
    rows = [(int(r.group(1)), int(r.group(2)), r.group(3)) for r in rows if r]
    assert rows, f"{label}: no lecture plan rows (| 0–5 | \"slide\" | … |)"
    assert rows[0][0] == 0 and rows[-1][1] == 50, f"{label}: the plan must run from 0 to 50 minutes"
    for (_, end, _), (start, _, _) in zip(rows, rows[1:]):
        assert end == start, f"{label}: the plan has a gap or an overlap at minute {end}/{start}"
    titles = deck_titles(label)
    named = [t for _, _, slides in rows for t in re.findall(r'"([^"]+)"', slides)]
    missing = [t for t in named if t not in titles]
    assert not missing, f"{label}: the plan names slides the chapter does not have: {missing}"
    positions = [titles.index(t) for t in named]
    assert positions == sorted(positions), f"{label}: the plan does not follow the deck's order"
    chapter_text = "\n".join(c.source for c in _markdown(chapter_notebook(label)))
    exercises = set(EXERCISE.findall(chapter_text))
    recommended = set(re.findall(r"\{ref\}`(ch\d+-ex-[\w-]+)`", section))
    unknown = recommended - exercises
    assert not unknown, f"{label}: the guide recommends exercises that do not exist: {unknown}"
    errata_text = "\n".join(c.source for c in _markdown(ROOT / "appendices" / "errata.ipynb"))
    errata = set(LABEL.findall(errata_text))
    cited = set(re.findall(r"\{ref\}`(errata-[\w-]+)`", section))
    assert cited <= errata, f"{label}: unknown errata {cited - errata}"
    return (f"{label}: a 50-minute plan in {len(rows)} blocks that follows the deck "
            f"({len(named)} slides named); exercises recommended: {len(recommended)}, "
            f"errata entries linked: {len(cited)}, all found")
