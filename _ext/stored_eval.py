"""Local Sphinx extension: the prose's ``{eval}`...``` roles rendered from results stored in the notebook.

A number computed by the book is written into the prose as ``{eval}`glued("ch2-h-match:.4f")```.
JupyterLab's MyST renderer (jupyterlab-myst) evaluates such a role in the kernel when a reader runs
the Markdown cell and stores the result in that cell's ``metadata.user_expressions``;
``tools/execute.py`` stores the same results when it executes a notebook (each after the code cells
above it), so an unexecuted notebook in JupyterLab and the site show the same numbers.

myst-nb evaluates ``{eval}`` only with a live kernel (``execute_notebooks: inline``) and otherwise
refuses. The site renders stored outputs and never runs a kernel (`_config.yml`), so here the
notebook client without a kernel answers from those stored results instead. A role with no stored
result, or an expression stored with two different results in one notebook, is a build warning, so
the strict build (``-W``) fails on it.
"""

from __future__ import annotations

from typing import Any

from myst_nb.core.execute.base import NotebookClientBase

CONFLICT = "stored with two different results in this notebook"


def stored_results(notebook: Any) -> dict[str, dict]:
    """expression -> the result jupyterlab-myst stores for it (``{"status": "ok", "data": ...}``)."""
    results: dict[str, dict] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for entry in cell.get("metadata", {}).get("user_expressions", []):
            expression, result = entry["expression"], entry["result"]
            if results.setdefault(expression, result) != result:
                raise ValueError(f"{expression!r} is {CONFLICT}")
    return results


def eval_from_stored(self: NotebookClientBase, name: str) -> list[dict]:
    """The stored result of expression `name` as one execute_result output (or an error output)."""
    cache = self.__dict__.setdefault("_stored_eval_results", {})
    if "results" not in cache:
        cache["results"] = stored_results(self.notebook)
    result = cache["results"].get(name)
    if result is None:
        raise LookupError(f"no stored result for {name!r}: run `python tools/execute.py` on this notebook")
    if result.get("status") != "ok":
        return [{"output_type": "error", "ename": result.get("ename", "error"),
                 "evalue": result.get("evalue", "")}]
    return [{"output_type": "execute_result", "data": result.get("data", {}),
             "metadata": result.get("metadata", {})}]


def setup(app):
    NotebookClientBase.eval_variable = eval_from_stored
    return {"parallel_read_safe": True, "parallel_write_safe": True}
