"""Notebook hygiene: every chapter is stored executed, top to bottom, clean, and in the toc."""

from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("chapters", "appendices") for p in (ROOT / folder).glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text()
TOC_FILES = re.findall(r"^\s*-\s*file:\s*(\S+)", TOC, flags=re.MULTILINE)  # commented lines excluded
LOCAL_PATH = re.compile(r"(/(work|root|tmp|home|Users)/|[A-Z]:\\\\)")


def _code_cells(nb_path: pathlib.Path) -> list[dict]:
    nb = json.loads(nb_path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_top_to_bottom_in_one_fresh_run(nb_path):
    counts = [c["execution_count"] for c in _code_cells(nb_path)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{nb_path.name}: execution counts {counts} are not 1..n; re-run it in a fresh kernel "
        "(jupyter nbconvert --to notebook --execute --inplace)")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stored(nb_path):
    assert any(c["outputs"] for c in _code_cells(nb_path)), f"{nb_path.name} has no stored outputs"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_errors_or_local_paths(nb_path):
    for i, cell in enumerate(_code_cells(nb_path)):
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                assert "raises-exception" in tags, f"{nb_path.name} cell {i}: stored error {out['ename']}"
            text = json.dumps(out)
            assert not LOCAL_PATH.search(text), f"{nb_path.name} cell {i}: an output shows a local path"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_say_why(nb_path):
    for i, cell in enumerate(_code_cells(nb_path)):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            assert "#" in "".join(cell["source"]), (
                f"{nb_path.name} cell {i}: nbval-ignore-output needs a comment saying why")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(nb_path):
    assert f"{nb_path.parent.name}/{nb_path.stem}" in TOC_FILES, f"{nb_path.name} is not listed in _toc.yml"


@pytest.mark.parametrize("entry", TOC_FILES)
def test_every_toc_entry_exists(entry):
    candidates = [ROOT / f"{entry}{ext}" for ext in ("", ".ipynb", ".md")]
    assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, which does not exist"


# --- Cell roles and the proof ledger (CONTRIBUTING.md, "Every code cell has one role") ---------

sys.path.insert(0, str(ROOT / "_ext"))
import book_cells  # noqa: E402  (shared with the ledger extension)

sys.path.insert(0, str(ROOT / "tools"))
import frontmatter  # noqa: E402  (the JupyterLab macros cell)

BOOK = book_cells.read_book(ROOT)
BOOK_IDS = [nb.path.relative_to(ROOT).as_posix() for nb in BOOK]
ALL_LABELS = set().union(*(nb.labels for nb in BOOK))
MAX_TEACHING_LINES = 15
MAX_LINE = 80


def _code(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c["cell_type"] == "code" and book_cells.source(c).strip()]


def _inside_solutions(nb) -> set[int]:
    """Indices of the cells between a solution-start and its solution-end."""
    inside, depth = set(), False
    for i, cell in enumerate(nb.cells):
        text = book_cells.source(cell) if cell["cell_type"] == "markdown" else ""
        if depth:
            inside.add(i)
        starts, ends = text.rfind("{solution-start}"), text.rfind("{solution-end}")
        if starts > ends:
            depth = True
        elif ends > starts:
            depth = False
    return inside


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_every_code_cell_has_one_role(nb):
    bad = [i for i, c in _code(nb) if book_cells.book_meta(c).get("role") not in book_cells.ROLES]
    assert not bad, f"{nb.path.name}: code cells {bad} have no metadata.book.role in {book_cells.ROLES}"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_teaching_cells_are_short_shown_and_clean(nb):
    for i, c in _code(nb):
        if book_cells.book_meta(c).get("role") != "teaching":
            continue
        lines = [line for line in book_cells.source(c).splitlines() if line.strip()]
        where = f"{nb.path.name} cell {i}"
        assert len(lines) <= MAX_TEACHING_LINES, f"{where}: {len(lines)} lines; a teaching cell has at most 15"
        long = [line for line in lines if len(line) > MAX_LINE]
        assert not long, f"{where}: lines over {MAX_LINE} characters are cut off on the page: {long[0]!r}"
        assert not book_cells.tags(c) & book_cells.HIDING, f"{where}: a teaching cell is shown, not hidden"
        code = "\n".join(lines)
        assert "glue(" not in code, f"{where}: glue belongs in a hidden plumbing cell"
        assert not re.search(r"^\s*assert\b", code, re.MULTILINE), f"{where}: asserts belong in a check cell"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_check_cells_are_collapsed_and_say_what_they_check(nb):
    for i, c in _code(nb):
        meta = book_cells.book_meta(c)
        if meta.get("role") != "check":
            continue
        where = f"{nb.path.name} cell {i}"
        assert book_cells.tags(c) & {"hide-input", "hide-cell"}, f"{where}: tag a check cell hide-input or hide-cell"
        prompt = c.get("metadata", {}).get("mystnb", {}).get("code_prompt_show", "")
        assert prompt.startswith("Check"), f"{where}: mystnb.code_prompt_show must start with 'Check', got {prompt!r}"
        checks = meta.get("checks")
        assert isinstance(checks, list) and checks, f"{where}: book.checks must list the labels this cell checks"
        unknown = [label for label in checks if label not in ALL_LABELS]
        assert not unknown, f"{where}: book.checks names labels that the book does not define: {unknown}"
        scope = str(meta.get("scope", ""))
        assert scope.startswith(book_cells.SCOPES), f"{where}: book.scope must start with 'symbolic' or 'numerical'"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_plumbing_and_slide_cells_are_hidden(nb):
    for i, c in _code(nb):
        role = book_cells.book_meta(c).get("role")
        if role == "plumbing":
            assert book_cells.tags(c) & book_cells.HIDING, f"{nb.path.name} cell {i}: hide a plumbing cell"
        if role == "slide":
            assert "remove-cell" in book_cells.tags(c), f"{nb.path.name} cell {i}: a slide-only cell is removed"
    for i, c in enumerate(nb.cells):
        if c["cell_type"] == "markdown" and book_cells.book_meta(c).get("role") == "slide":
            assert "remove-cell" in book_cells.tags(c), f"{nb.path.name} cell {i}: a slide-only cell is removed"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_solution_cells_sit_inside_solutions(nb):
    inside = _inside_solutions(nb)
    for i, c in _code(nb):
        if book_cells.book_meta(c).get("role") == "solution":
            assert i in inside, f"{nb.path.name} cell {i}: a solution cell outside solution-start/solution-end"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_figures_have_captions_and_alt_text(nb):
    for i, c in _code(nb):
        if not any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in c["outputs"]):
            continue
        if book_cells.tags(c) & {"remove-cell", "remove-output"}:
            continue
        mystnb = c.get("metadata", {}).get("mystnb", {})
        figure, image = mystnb.get("figure", {}), mystnb.get("image", {})
        where = f"{nb.path.name} cell {i}"
        assert figure.get("name") and figure.get("caption"), f"{where}: a figure needs mystnb.figure name and caption"
        alt = str(image.get("alt", ""))
        assert len(alt.split()) >= 5, f"{where}: mystnb.image.alt must describe the picture in words"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_mentions_of_chapters_are_links(nb):
    for i, c in enumerate(nb.cells):
        if c["cell_type"] != "markdown" or book_cells.book_meta(c).get("role") == "slide":
            continue
        text = re.sub(r"`[^`\n]*`", "", book_cells.source(c))  # roles and inline code
        text = CHAPTER_LINK.sub("", text)
        plain = re.findall(r"\b[Cc]hapters?\s+\d+", text)
        assert not plain, f"{nb.path.name} cell {i}: write [Chapter N](NN_topic.ipynb), not {plain[0]!r}"


CHAPTER_LINK = re.compile(r"\[Chapter (\d+)\]\(([^()\s]+\.ipynb)\)")
LINKING_NOTEBOOKS = NOTEBOOKS + sorted((ROOT / "teaching").glob("*.ipynb"))


@pytest.mark.parametrize("nb_path", LINKING_NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_chapter_links_open_that_chapter(nb_path):
    """[Chapter N](NN_topic.ipynb): a link on the site and in JupyterLab, and N is that chapter's number.

    (A {numref} to another notebook shows in JupyterLab as "Chapter %s", so notebooks use links.)
    """
    for i, cell in enumerate(json.loads(nb_path.read_text())["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text, where = "".join(cell["source"]), f"{nb_path.name} cell {i}"
        assert "{numref}`Chapter" not in text, f"{where}: write [Chapter N](NN_topic.ipynb), not a numref"
        for number, target in CHAPTER_LINK.findall(text):
            page = (nb_path.parent / target).resolve()
            assert page.is_file() and page.parent == ROOT / "chapters", f"{where}: {target} is not a chapter"
            assert int(page.name[:2]) == int(number), f"{where}: [Chapter {number}] links to {target}"
            toc_chapters = [f for f in TOC_FILES if f.startswith("chapters/")]
            assert toc_chapters.index(f"chapters/{page.stem}") + 1 == int(number), (
                f"{where}: {target} is not chapter {number} in _toc.yml's order")


@pytest.mark.parametrize("nb", [nb for nb in BOOK if nb.path.parent.name == "chapters"],
                         ids=lambda nb: nb.path.name)
def test_chapter_opens_with_the_template(nb):
    cells = nb.cells[1:] if frontmatter.has_frontmatter({"cells": nb.cells}) else nb.cells
    first = book_cells.source(cells[0])
    number = int(nb.path.name[:2])
    assert first.startswith(f"(ch{number})=\n# "), f"{nb.path.name}: start with '(ch{number})=' and the title"
    assert "**Prerequisites:**" in first, f"{nb.path.name}: the first cell states the prerequisites"
    assert "Learning objectives" in first, f"{nb.path.name}: the first cell lists the learning objectives"


def test_every_result_has_a_check():
    checked = {label for nb in BOOK for check in nb.checks for label in check.checks}
    missing = [f"{r.notebook.name}: {r.kind} {r.label}" for nb in BOOK for r in nb.results if r.label not in checked]
    assert not missing, "results with no check cell naming them:\n" + "\n".join(missing)


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_jupyterlab_macros_match_the_site(nb):
    """The first cell gives JupyterLab the macros of _config.yml (run tools/frontmatter.py)."""
    assert frontmatter.has_frontmatter({"cells": nb.cells}), (
        f"{nb.path.name}: no macros cell for JupyterLab; run python tools/frontmatter.py")
    assert book_cells.source(nb.cells[0]) == frontmatter.cell_source(ROOT), (
        f"{nb.path.name}: the macros cell differs from _config.yml; run python tools/frontmatter.py")
    assert "remove-cell" in book_cells.tags(nb.cells[0]), f"{nb.path.name}: the macros cell is removed from the book"


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_jupyterlab_collapses_what_the_book_collapses(nb):
    """Check, plumbing, slide and solution cells are collapsed in JupyterLab too; teaching cells open."""
    wrong = [i for i, c in enumerate(nb.cells)
             if bool(c.get("metadata", {}).get("jupyter", {}).get("source_hidden")) != frontmatter.collapsed(c)]
    assert not wrong, f"{nb.path.name}: cells {wrong[:8]} collapsed wrongly in JupyterLab; run python tools/frontmatter.py"


# --- Computed numbers in the prose (CONTRIBUTING.md, "Putting a computed number into the prose") ---

import execute  # noqa: E402  (tools/execute.py: which {eval} roles a Markdown cell has)

from myst_nb.core.variables import format_plain_text  # noqa: E402  (what {glue:text} rendered: independent of xent.book)

from xent.book import GLUE_PREFIX, split_spec  # noqa: E402

GLUED_ROLE = re.compile(r'^glued\("([^"`]+)"\)$')


def _glue_records(nb) -> dict[str, tuple[int, str]]:
    """name -> (cell index, text/plain) of every glue() record stored in the notebook's outputs."""
    records = {}
    for i, c in _code(nb):
        for out in c.get("outputs", []):
            name = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
            if name:
                assert name not in records, f"{nb.path.name}: {name!r} is glued twice (cells {records[name][0]}, {i})"
                text = out["data"][GLUE_PREFIX + "text/plain"]
                records[name] = (i, "".join(text) if isinstance(text, list) else text)
    return records


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_prose_numbers_are_glued_above_the_text(nb):
    """A number in the prose is glued in a code cell above it, so a reader who runs the notebook top
    to bottom in JupyterLab (Run All) sees every number, never "not run yet"."""
    records = _glue_records(nb)
    late = []
    for i, cell in enumerate(nb.cells):
        if cell["cell_type"] != "markdown":
            continue
        for expression in execute.eval_expressions(book_cells.source(cell)):
            match = GLUED_ROLE.match(expression)
            name = split_spec(match.group(1))[0] if match else None
            if name in records and records[name][0] > i:
                late.append(f"cell {i} uses {name!r}, glued in cell {records[name][0]}")
    assert not late, f"{nb.path.name}: numbers used above the cell that glues them: " + "; ".join(late[:6])


@pytest.mark.parametrize("nb", BOOK, ids=BOOK_IDS)
def test_prose_numbers_are_stored_and_equal_their_glue_records(nb):
    """Every {eval} role has its stored result, and that result is its glue record, formatted.

    nbval checks that the glue records are what the code computes today; this test chains the
    prose (what the site, the slides and JupyterLab show) to them, so a stale number fails.
    """
    records = _glue_records(nb)
    for i, cell in enumerate(nb.cells):
        if cell["cell_type"] != "markdown":
            continue
        text, where = book_cells.source(cell), f"{nb.path.name} cell {i}"
        assert "{glue" not in text, f"{where}: write a computed number as {{eval}}`glued(\"name:.4f\")`"
        expressions = execute.eval_expressions(text)
        stored = cell.get("metadata", {}).get("user_expressions", [])
        assert [e["expression"] for e in stored] == expressions, (
            f"{where}: stored results do not match its {{eval}} roles; run python tools/execute.py")
        for entry in stored:
            expression, result = entry["expression"], entry["result"]
            match = GLUED_ROLE.match(expression)
            assert match, f"{where}: {{eval}}`{expression}` is not of the form glued(\"name:spec\")"
            name, spec = split_spec(match.group(1))
            assert name in records, f"{where}: {name!r} is never glued in this notebook"
            assert result.get("status") == "ok", f"{where}: {expression} failed: {result.get('evalue')}"
            expected = repr(format_plain_text(records[name][1], spec))
            assert result["data"]["text/plain"] == expected, (
                f"{where}: {expression} is stored as {result['data']['text/plain']}, its glue record gives "
                f"{expected}; run python tools/execute.py")
