"""Notebook hygiene: every chapter is stored executed, top to bottom, clean, and in the toc."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb"))
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
    assert f"chapters/{nb_path.stem}" in TOC_FILES, f"{nb_path.name} is not listed in _toc.yml"


@pytest.mark.parametrize("entry", TOC_FILES)
def test_every_toc_entry_exists(entry):
    candidates = [ROOT / f"{entry}{ext}" for ext in ("", ".ipynb", ".md")]
    assert any(p.is_file() for p in candidates), f"_toc.yml lists {entry}, which does not exist"
