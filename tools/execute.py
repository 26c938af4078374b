#!/usr/bin/env python3
"""Execute chapter notebooks top to bottom in a fresh kernel and save them, ready to commit.

    python tools/execute.py chapters/07_gradient.ipynb [more.ipynb ...]

Like `jupyter nbconvert --execute --inplace`, but it also strips what changes on every run and
means nothing to a reader (the per-cell execution timestamps nbclient records, and where a
cell's printed output happened to be split into chunks), so re-executing
an unchanged notebook leaves `git status` clean. Cells tagged `nbval-ignore-output` (timings) are
the one exception: their outputs are new each run. Prints each notebook's wall time.
"""

from __future__ import annotations

import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

TIMEOUT_S = 300


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
    NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
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
