#!/usr/bin/env python3
"""Execute chapter notebooks top to bottom in a fresh kernel and save them, ready to commit.

    python tools/execute.py chapters/07_gradient.ipynb [more.ipynb ...]

Like `jupyter nbconvert --execute --inplace`, but it also strips what changes on every run and
means nothing to a reader (the per-cell execution timestamps nbclient records, and where a
cell's printed output happened to be split into chunks), so re-executing
an unchanged notebook leaves `git status` clean.

It also evaluates the prose's inline ``{eval}`...``` roles: each Markdown cell's expressions are
evaluated in the kernel right after the code cells above it have run, and stored in the cell's
``metadata.user_expressions`` in the form jupyterlab-myst writes when a reader runs that cell. The
site (`_ext/stored_eval.py`), the slides and JupyterLab before anything runs all show those stored
results. An expression that fails stops the run with its error. Cells tagged `nbval-ignore-output` (timings) are
the one exception: their outputs are new each run. Prints each notebook's wall time.
"""

from __future__ import annotations

import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

TIMEOUT_S = 300
EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")  # an inline {eval} role; its expression has no backtick


def eval_expressions(source: str) -> list[str]:
    """The expressions of the ``{eval}`` roles in a Markdown cell's source, in reading order."""
    return EVAL_ROLE.findall(source)


class StoringClient(NotebookClient):
    """nbclient's client that also stores each Markdown cell's ``{eval}`` results, in place.

    A cell's expressions are evaluated once the code cells above it have run, as JupyterLab
    evaluates them when a reader runs the notebook top to bottom; a number glued only further down
    fails here, as it would there.
    """

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "markdown":
            await self.store_expressions(cell)
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    async def store_expressions(self, cell) -> None:
        expressions = eval_expressions(cell.source)
        if not expressions:
            cell.metadata.pop("user_expressions", None)
            return
        request = {str(i): expression for i, expression in enumerate(expressions)}
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions=request)
        reply = await self.async_wait_for_reply(msg_id, cell)
        answers = reply["content"].get("user_expressions", {})
        stored = []
        for key, expression in request.items():
            result = answers[key]
            if result.get("status") != "ok":
                raise RuntimeError(f"{{eval}}`{expression}` failed: {result.get('ename')}: "
                                   f"{result.get('evalue')} (glue a number in a code cell above its text)")
            stored.append({"expression": expression, "result": result})
        cell.metadata["user_expressions"] = stored


def strip_volatile(nb: nbformat.NotebookNode) -> None:
    """Drop execution timestamps and the kernel's Python patch version; merge split streams."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    # A cell's prints can arrive in several chunks, split where the kernel happened to flush:
    # one output block per stream, as a reader expects and the same on every run.
    CoalesceStreamsPreprocessor().preprocess(nb, {})


def execute(path: pathlib.Path) -> float:
    """Run one notebook in a fresh kernel with its own folder as the working directory; save it."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    StoringClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    strip_volatile(nb)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    for name in paths:
        seconds = execute(pathlib.Path(name))
        print(f"{name}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
