"""The printable PDFs (tools/pdf.py): the whole book and each chapter, instructor and student.

The instructor edition of the site is built once (tests/_lecture_kit.py, shared with the deck test)
and printed by headless Chromium; the text that pypdf extracts from the bound book must hold every
chapter's title, no raw TeX or MyST (``\\frac``, ``$$``, ``{math}``, ``{numref}`` …) and the
glossary's Chinese intact (交叉熵). The student edition is built with LECTURE_KIT_EDITION=student:
every exercise, no solution, no teaching guide; one chapter handout is printed and read back.
"""

from __future__ import annotations

import io
import json
import logging
import pathlib
import re
import sys
import unicodedata

import nbformat
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _lecture_kit as kit  # noqa: E402

sys.path.insert(0, str(kit.ROOT / "tools"))
import pdf  # noqa: E402
import slides  # noqa: E402

pypdf = pytest.importorskip("pypdf")

# Printing two editions of the book takes minutes, more than the rest of the suite together, so a
# plain `python -m pytest` leaves it out; CI (CI=true) and BOOK_PDF=1 run it.
pytestmark = pytest.mark.skipif(
    not (kit.in_ci() or kit.os.environ.get("BOOK_PDF") == "1"),
    reason="PDF tests take minutes: run them with BOOK_PDF=1 python -m pytest tests/test_pdf.py (CI does)")
logging.getLogger("pypdf").setLevel(logging.ERROR)

CHAPTERS = kit.chapter_notebooks()
RAW = ["\\frac", "$$", "{math}", "\\begin{", "{numref}", "{prf:", "{glue", "{eval}", "{eq}`", "```{",
       ":label:"]


def _norm(text: str) -> str:
    """NFKC (ligatures such as ﬁ become fi), plain quotes (Sphinx prints ’) and single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(str.maketrans("‘’“”", "''\"\""))
    return re.sub(r"\s+", " ", text).strip()


def _title(nb_path: pathlib.Path) -> str:
    """The chapter title as printed (inline math left out: it extracts as glyphs, not TeX)."""
    title = slides.chapter_title(nbformat.read(nb_path, as_version=4)) or nb_path.stem
    return re.sub(r"\$[^$]*\$", "", title).strip()


def _text(path: pathlib.Path) -> list[str]:
    reader = pypdf.PdfReader(path)
    return [page.extract_text() or "" for page in reader.pages]


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    kit.require_chromium()
    html = kit.built_site("instructor")
    out = tmp_path_factory.mktemp("pdf")
    summary = pdf.make_pdfs("instructor", html, out, log=lambda *a: None)
    summary["text"] = _text(summary["book"])
    return summary


def test_book_pdf(instructor):
    """The bound book: contents, every chapter title, no raw TeX or MyST, the Chinese intact."""
    pages = instructor["pages"]
    text = _norm("\n".join(instructor["text"]))
    print(f"\nbook PDF: {pages} pages, printed and bound in {instructor['seconds']:.0f} s "
          f"({len(instructor['entries'])} pages of the site)")
    (kit.CACHE / "pdf-summary.json").write_text(json.dumps(
        {"pages": pages, "seconds": round(instructor["seconds"]),
         "site_pages": len(instructor["entries"])}))  # for the record, also under pytest-xdist
    assert instructor["errors"] == [], instructor["errors"]
    assert pages >= 2 * len(CHAPTERS), f"only {pages} pages"
    assert "Contents" in _norm(instructor["text"][1])
    missing = [nb.stem for nb in CHAPTERS if _norm(_title(nb)) not in text]
    assert not missing, f"chapter titles missing from the book PDF: {missing}"
    raw = [r for r in RAW if r in text]
    assert not raw, f"raw markup in the PDF text: {raw}"
    assert "交叉熵" in text, "the glossary's 交叉熵 did not survive (fonts-noto-cjk installed?)"
    assert "Teaching from this book" in text, "the instructor edition lacks the teaching guide"
    reader = pypdf.PdfReader(instructor["book"])
    outline_titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert any(t.startswith("Part I") for t in outline_titles), outline_titles[:5]


def test_chapter_pdfs(instructor):
    """Each chapter on its own: its title on page 1, and its solutions printed open."""
    html = kit.built_site("instructor")
    offset = len(instructor["text"]) - sum(e["count"] for e in instructor["entries"])
    by_doc = {e["docname"]: e for e in instructor["entries"]}
    for nb in CHAPTERS:
        entry = by_doc[f"chapters/{nb.stem}"]
        path = instructor["singles"] / "chapters" / f"{nb.stem}.pdf"
        assert path.exists(), f"no PDF for {nb.stem}"
        assert len(pypdf.PdfReader(path).pages) == entry["count"]
        first = offset + entry["start"] - 1  # the chapter's pages inside the bound book
        pages = instructor["text"][first:first + entry["count"]]
        # once in the running head, once as the page's own heading
        assert _norm(pages[0]).count(_norm(_title(nb))) >= 2, f"{nb.stem}: no title on page 1"
        page = (html / "chapters" / f"{nb.stem}.html").read_text(encoding="utf-8")
        if 'class="solution' in page:
            assert "Solution to" in _norm(" ".join(pages)), f"{nb.stem}: solutions not printed"


def test_student_edition(tmp_path):
    """Student site: every exercise, no solution, no teaching guide; one handout printed."""
    kit.require_chromium()
    student = kit.built_site("student")
    teacher = kit.built_site("instructor")
    handout = None
    for nb in CHAPTERS:
        page_s = (student / "chapters" / f"{nb.stem}.html").read_text(encoding="utf-8")
        page_i = (teacher / "chapters" / f"{nb.stem}.html").read_text(encoding="utf-8")
        exercises = len(re.findall(r'class="exercise[ "]', page_i))
        assert len(re.findall(r'class="exercise[ "]', page_s)) == exercises, nb.stem
        assert 'class="solution' not in page_s, f"{nb.stem}: a solution in the student edition"
        if exercises and handout is None:
            handout = nb
    assert not (student / "teaching").exists(), "the teaching guide is in the student edition"
    assert handout is not None, "no chapter has exercises"
    with kit.serve(student) as base, pdf.chromium() as context:
        data, info = pdf.print_page(context, f"{base}chapters/{handout.stem}.html")
    text = _norm(" ".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages))
    assert "Exercise" in text and "Solution to Exercise" not in text
    print(f"\nstudent handout {handout.stem}: {len(pypdf.PdfReader(io.BytesIO(data)).pages)} pages")
