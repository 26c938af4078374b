"""Local Sphinx extension: the proof ledger, built from the notebooks' check-cell metadata.

The directive ``{proof-ledger}`` reads every notebook of the book (``book_cells.read_book``) and
writes two tables: every labelled result (theorem, lemma, proposition, corollary) with its
chapter, the check cells that check it and their scope; then every other labelled statement
(equations, figures, worked examples) that a check cell names. A result without a check shows
"no check" here, and fails ``tests/test_notebooks.py::test_every_result_has_a_check``.
"""

from __future__ import annotations

import pathlib

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

import book_cells


def _cell(text: str) -> str:
    """Escape a table cell: no pipes, no newlines."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _describe(check: book_cells.Check) -> str:
    """'with SymPy' from the toggle 'Check with SymPy: the σ − y gradient'."""
    prompt = check.prompt.split(":", 1)[0].strip()
    return prompt[len("Check"):].strip() or "check cell"


class ProofLedger(SphinxDirective):
    """Tables of every checked result, generated from the notebooks when the site is built."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        root = pathlib.Path(self.env.srcdir)
        book = book_cells.read_book(root)
        for nb in book:
            self.env.note_dependency(str(nb.path))
        checks: dict[str, list[book_cells.Check]] = {}
        for nb in book:
            for check in nb.checks:
                for label in check.checks:
                    checks.setdefault(label, []).append(check)

        def doc(path: pathlib.Path) -> str:
            """A link to the chapter ("Chapter 7") or, for an appendix, to its page."""
            if path.parent.name == "chapters" and path.name[:2].isdigit():
                return f"{{numref}}`Chapter %s <ch{int(path.name[:2])}>`"
            return f"{{doc}}`/{path.relative_to(root).with_suffix('').as_posix()}`"

        def how(label: str) -> tuple[str, str]:
            found = checks.get(label, [])
            if not found:
                return "**no check**", ""
            kinds = sorted({_describe(c) for c in found})
            scopes = sorted({c.scope for c in found})
            return _cell("; ".join(kinds)), _cell("; ".join(scopes))

        lines = ["| result | chapter | checked | scope |", "| --- | --- | --- | --- |"]
        results = 0
        for nb in book:
            for result in nb.results:
                results += 1
                kind, scope = how(result.label)
                lines.append(f"| {{prf:ref}}`{result.label}` ({_cell(result.title)}) | "
                             f"{doc(nb.path)} | {kind} | {scope} |")
        result_labels = {r.label for nb in book for r in nb.results}
        other = ["| statement | chapter | checked | scope |", "| --- | --- | --- | --- |"]
        seen: set[str] = set()
        for nb in book:
            for check in nb.checks:
                for label in check.checks:
                    if label in result_labels or label in seen:
                        continue
                    seen.add(label)
                    owner = next((n for n in book if label in n.labels), nb)
                    ref = _reference(label, owner, check)
                    kind, scope = how(label)
                    other.append(f"| {ref} | {doc(owner.path)} | {kind} | {scope} |")
        n_checks = sum(len(nb.checks) for nb in book)
        text = [f"The book states {results} labelled results and runs {n_checks} check cells.", ""]
        text += lines + ["", "Other checked statements (equations, figures, worked examples):", ""] + other
        container = nodes.container(classes=["proof-ledger"])
        self.state.nested_parse(StringList(text, source="proof-ledger"), self.content_offset, container)
        return [container]


def _equation_labels(nb: book_cells.Notebook) -> set[str]:
    return {label for cell in nb.cells if cell["cell_type"] == "markdown"
            for label in book_cells._EQ_LABEL.findall(book_cells.source(cell))}


def _figure_labels(nb: book_cells.Notebook) -> set[str]:
    names = set()
    for cell in nb.cells:
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if cell["cell_type"] == "code" and isinstance(figure, dict) and figure.get("name"):
            names.add(figure["name"])
    return names


def _reference(label: str, owner: book_cells.Notebook, check: book_cells.Check) -> str:
    """Equation (7.2), Figure 3.1, or the check's own words linking to the labelled place."""
    if label in _equation_labels(owner):
        return f"Equation {{eq}}`{label}`"
    if label in _figure_labels(owner):
        return f"{{numref}}`{label}`"
    words = check.prompt.split(":", 1)[1].strip() if ":" in check.prompt else label
    words = words.replace("`", "").replace("<", "‹").replace(">", "›")
    return f"{{ref}}`{_cell(words)} <{label}>`"


def setup(app):
    app.add_directive("proof-ledger", ProofLedger)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
