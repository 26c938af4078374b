"""Printable PDFs of the book: headless Chromium prints the built pages, pypdf binds them.

    python tools/pdf.py                 # build both editions, then print them into _build/pdf/
    python tools/pdf.py --no-build      # print the sites already in _build/html and _build/student
    python tools/pdf.py --edition instructor --no-build
    python tools/pdf.py --path-output /tmp/book --out /tmp/book/pdf   # build and print elsewhere

What it writes (``_build/pdf/``):

* ``cross-entropy-derived.pdf``: the instructor edition, the whole book: a title page, a table of
  contents with page numbers, every chapter with its solutions, the appendices and the teaching
  guide, page-numbered, with PDF bookmarks for every part, chapter and section;
* ``cross-entropy-derived-student.pdf``: the student edition, the same without solutions and
  without the teaching guide;
* ``instructor/<page>.pdf`` and ``student/<page>.pdf``: each page on its own (a chapter with
  solutions; the student handout of each chapter: its exercises and no solutions).

Why Chromium and not LaTeX: the site already typesets every equation with the bundled MathJax,
draws the theorem, exercise and solution boxes and embeds the figures; printing those pages with a
print stylesheet (``_ext/lecture_kit_static/lecture_kit_print.css``) gives a PDF that matches the
book, and the Chinese of the glossary only needs a CJK font (Debian's ``fonts-noto-cjk``). The
LaTeX route needs Debian's TeX Live with XeLaTeX and CJK packages (gigabytes, minutes per build)
and re-implements every box and MyST directive in LaTeX, where the site's behaviour (glue,
collapsed checks, sphinx-proof and sphinx-exercise styling) would drift from the web version.

The student edition is the same sources built with ``LECTURE_KIT_EDITION=student``
(``_ext/lecture_kit.py``): solutions and the teaching guide left out.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import io
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

logging.getLogger("pypdf").setLevel(logging.ERROR)  # Chromium's PDFs trip harmless xref warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
BOOK_TITLE = "Cross-Entropy, Derived"
EDITIONS = {
    # edition: (site folder relative to ROOT, book PDF name)
    "instructor": ("_build/html", "cross-entropy-derived.pdf"),
    "student": ("_build/student/_build/html", "cross-entropy-derived-student.pdf"),
}
MARGIN = {"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
HEADER = ('<div style="font: 7pt sans-serif; color: #777; width: 100%; padding: 0 15mm;">'
          '<span class="title"></span></div>')
EMPTY_FOOTER = "<div></div>"

# Run in each page before printing: wait for MathJax and images, drop links that would point at
# the local server, and return the page's title and headings (for the table of contents).
PREPARE_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(r => { img.onload = img.onerror = r; })));
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  for (const a of document.querySelectorAll('a[href]')) {
    const url = new URL(a.href, location.href);
    const samePage = url.origin === location.origin && url.pathname === location.pathname;
    if (url.origin === location.origin && !samePage) { a.removeAttribute('href'); }
  }
  const clean = el => { const c = el.cloneNode(true);
    c.querySelectorAll('.headerlink, mjx-assistive-mml').forEach(n => n.remove());
    return c.textContent.replace(/\\s+/g, ' ').trim(); };
  const main = document.querySelector('main') || document.body;
  const h1 = main.querySelector('h1');
  const headings = Array.from(main.querySelectorAll('h2')).map(clean);
  // the document title carries the chapter number ("7. The σ − Y gradient — Book")
  const title = document.title.split(' \u2014 ')[0].trim() || (h1 ? clean(h1) : '');
  return {title, h1: h1 ? clean(h1) : title, headings};
}
"""


# ---------------------------------------------------------------------------------------------
# Building the sites
# ---------------------------------------------------------------------------------------------

def jupyter_book() -> str:
    exe = pathlib.Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def build_site(edition: str, out_root: pathlib.Path | None = None) -> pathlib.Path:
    """Build one edition of the site; returns its html folder."""
    env = dict(os.environ, LECTURE_KIT_EDITION=edition)
    cmd = [jupyter_book(), "build", str(ROOT), "--keep-going"]
    if out_root is not None:
        cmd += ["--path-output", str(out_root)]
        html_dir = out_root / "_build" / "html"
    elif edition == "student":
        cmd += ["--path-output", str(ROOT / "_build" / "student")]
        html_dir = ROOT / EDITIONS["student"][0]
    else:
        html_dir = ROOT / EDITIONS["instructor"][0]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not (html_dir / "intro.html").exists():
        raise RuntimeError(f"{edition} build failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return html_dir


# ---------------------------------------------------------------------------------------------
# Pages in book order
# ---------------------------------------------------------------------------------------------

def book_pages(html_dir: pathlib.Path, root: pathlib.Path = ROOT) -> list[dict]:
    """The toc's pages that exist in this build, in order: {docname, part} dicts."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [{"docname": toc["root"], "part": None}]

    def add(entries, caption):
        for entry in entries:
            if "file" in entry:
                pages.append({"docname": entry["file"], "part": caption})
            add(entry.get("sections", []), caption)

    for part in toc.get("parts", []):
        add(part.get("chapters", []), part.get("caption"))
    return [p for p in pages if (html_dir / f"{p['docname']}.html").exists()]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(html_dir: pathlib.Path):
    """The built site on 127.0.0.1 (MathJax and fonts load as on the web)."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium driven by playwright, with a fresh profile."""
    from playwright.sync_api import sync_playwright

    if not pathlib.Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: sudo apt-get install -y chromium")
    profile = tempfile.mkdtemp(prefix="pdf-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            color_scheme="light", viewport={"width": 1100, "height": 1400})
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def print_page(context, url: str, header: bool = True) -> tuple[bytes, dict]:
    """One page as PDF bytes (print media, A4) and its title and headings."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.emulate_media(media="print", color_scheme="light")
        page.goto(url, wait_until="load")
        info = page.evaluate(PREPARE_JS)
        data = page.pdf(format="A4", print_background=True, margin=MARGIN, outline=True,
                        tagged=True, display_header_footer=header,
                        header_template=HEADER if header else EMPTY_FOOTER,
                        footer_template=EMPTY_FOOTER)
    finally:
        page.close()
    info["errors"] = errors
    return data, info


def _html_pdf(context, body: str, header: bool = False) -> bytes:
    """Print a small HTML document of our own (title page, contents, page numbers)."""
    page = context.new_page()
    try:
        page.set_content(body, wait_until="load")
        return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                        display_header_footer=False, margin={"top": "0", "bottom": "0",
                                                             "left": "0", "right": "0"})
    finally:
        page.close()


def _front_matter(edition: str, entries: list[dict], offset: int) -> str:
    """Title page and table of contents; entries carry part, title and first page."""
    subtitle = {"instructor": "Instructor edition: with solutions and the teaching guide",
                "student": "Student edition: exercises without solutions"}[edition]
    rows, part = [], object()
    for entry in entries:
        if entry["part"] != part and entry["part"]:
            rows.append(f'<tr class="part"><td colspan="2">{html.escape(entry["part"])}</td></tr>')
        part = entry["part"]
        rows.append(f'<tr><td>{html.escape(entry["title"])}</td>'
                    f'<td class="num">{entry["start"] + offset}</td></tr>')
    date = time.strftime("%Y-%m-%d")
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 0; }}
body {{ margin: 0; font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif; color: #111; }}
.sheet {{ box-sizing: border-box; width: 210mm; height: 297mm; padding: 30mm 25mm 20mm;
         page-break-after: always; overflow: hidden; }}
.sheet.toc {{ height: auto; min-height: 297mm; }}
h1 {{ font-size: 30pt; margin: 50mm 0 6mm; }}
.sub {{ font-size: 13pt; color: #444; }}
.small {{ font-size: 10pt; color: #555; margin-top: 70mm; line-height: 1.5; }}
h2 {{ font-size: 17pt; margin: 0 0 8mm; }}
table {{ width: 100%; border-collapse: collapse; font-size: 10.5pt; }}
td {{ padding: 1.1mm 0; border-bottom: 0.2mm dotted #bbb; }}
tr.part td {{ font-weight: bold; padding-top: 4mm; border-bottom: 0; }}
td.num {{ text-align: right; width: 15mm; }}
</style></head><body>
<div class="sheet"><h1>{html.escape(BOOK_TITLE)}</h1>
<div class="sub">{html.escape(subtitle)}</div>
<div class="small">Printed {date} from the book's sources: every equation typeset by MathJax,
every number computed by the notebooks that <code>pytest</code> re-executes.</div></div>
<div class="sheet toc"><h2>Contents</h2><table>{''.join(rows)}</table></div>
</body></html>"""


def _numbers_html(labels: list[str]) -> str:
    """One A4 page per label, the label at the bottom centre: the page-number overlay."""
    pages = "".join(f'<div class="p"><span>{html.escape(label)}</span></div>' for label in labels)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 0; }}
body {{ margin: 0; }}
.p {{ position: relative; width: 210mm; height: 297mm; page-break-after: always; overflow: hidden; }}
.p span {{ position: absolute; bottom: 8mm; left: 0; right: 0; text-align: center;
          font: 8.5pt "DejaVu Sans", sans-serif; color: #555; }}
</style></head><body>{pages}</body></html>"""


def _page_numbers(context, count: int):
    """An overlay PDF whose page i shows the number i + 1 (one print serves every PDF)."""
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(_html_pdf(context, _numbers_html([str(i + 1) for i in range(count)]))))


def _stamp(writer, numbers, first: int = 0) -> None:
    """Merge page numbers onto the pages of writer from page `first` on (number = index + 1)."""
    for index in range(first, len(writer.pages)):
        writer.pages[index].merge_page(numbers.pages[index])


def make_pdfs(edition: str, html_dir: pathlib.Path, out_dir: pathlib.Path,
              log=print) -> dict:
    """Print every page of one edition and bind the book; returns a summary."""
    from pypdf import PdfReader, PdfWriter

    started = time.perf_counter()
    pages = book_pages(html_dir)
    book_name = EDITIONS[edition][1]
    single_dir = out_dir / edition
    single_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    with serve(html_dir) as base, chromium() as context:
        for entry in pages:
            data, info = print_page(context, base + entry["docname"] + ".html")
            if entry["docname"] == pages[0]["docname"]:
                info["title"] = "Introduction"  # the root page is titled like the book
            entry.update(title=info["title"], headings=info["headings"], data=data,
                         count=len(PdfReader(io.BytesIO(data)).pages), errors=info["errors"])
            entries.append(entry)
            log(f"  {edition}: {entry['docname']}: {entry['count']} pages")
        # front matter: title page + contents; its length fixes the page offsets
        start = 1
        for entry in entries:
            entry["start"] = start
            start += entry["count"]
        front = PdfReader(io.BytesIO(_html_pdf(context, _front_matter(edition, entries, 0))))
        offset = len(front.pages)
        front = PdfReader(io.BytesIO(_html_pdf(context, _front_matter(edition, entries, offset))))
        assert len(front.pages) == offset, "the table of contents changed length"
        numbers = _page_numbers(context, offset + start - 1)
    # each page on its own, numbered from 1
    for entry in entries:
        single = PdfWriter(clone_from=PdfReader(io.BytesIO(entry["data"])))
        _stamp(single, numbers)
        single.add_metadata({"/Title": f"{entry['title']} ({BOOK_TITLE}, {edition} edition)"})
        target = single_dir / f"{entry['docname']}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            single.write(fh)
    # the book: front matter, then every page, bookmarked by part, chapter and section
    writer = PdfWriter()
    writer.append(front)
    part_items: dict[str, object] = {}
    for entry in entries:
        index = len(writer.pages)
        reader = PdfReader(io.BytesIO(entry["data"]))
        writer.append(reader, import_outline=False)
        parent = None
        if entry["part"]:
            if entry["part"] not in part_items:
                part_items[entry["part"]] = writer.add_outline_item(
                    title=entry["part"], page_number=index)
            parent = part_items[entry["part"]]
        item = writer.add_outline_item(title=entry["title"], page_number=index, parent=parent)
        for title, page_no in _outline_pages(reader):
            writer.add_outline_item(title=title, page_number=index + page_no, parent=item)
    total = len(writer.pages)
    _stamp(writer, numbers, first=1)  # no number on the title page
    writer.add_metadata({"/Title": f"{BOOK_TITLE} ({edition} edition)",
                         "/Author": f"The {BOOK_TITLE} authors"})
    writer.page_mode = "/UseOutlines"
    book_path = out_dir / book_name
    with open(book_path, "wb") as fh:
        writer.write(fh)
    seconds = time.perf_counter() - started
    errors = [f"{e['docname']}: {err}" for e in entries for err in e["errors"]]
    log(f"{edition}: {book_path} ({total} pages) and {len(entries)} single PDFs in "
        f"{single_dir}, {seconds:.0f} s")
    return {"book": book_path, "pages": total, "seconds": seconds, "singles": single_dir,
            "entries": [{k: v for k, v in e.items() if k != "data"} for e in entries],
            "errors": errors}


def _outline_pages(reader) -> list[tuple[str, int]]:
    """Top-level bookmarks that Chromium made from the page's h2 headings: (title, page)."""
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            elif depth <= 1:
                try:
                    found.append((item.title, reader.get_destination_page_number(item)))
                except Exception:  # a bookmark without a page: leave it out
                    pass
    try:
        walk(reader.outline, 0)
    except Exception:
        return []
    # Chromium's outline starts with the page's h1; keep the h2 level below it
    return [(t, p) for t, p in found[1:]] if len(found) > 1 else []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print the book to PDF (headless Chromium).")
    parser.add_argument("--edition", choices=["both", "instructor", "student"], default="both")
    parser.add_argument("--no-build", action="store_true",
                        help="print the sites already built (_build/html, _build/student)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_build" / "pdf")
    parser.add_argument("--path-output", type=pathlib.Path, default=None,
                        help="build the sites under this folder (<folder>/<edition>/_build/html) "
                             "instead of _build/html and _build/student")
    args = parser.parse_args(argv)
    editions = ["instructor", "student"] if args.edition == "both" else [args.edition]
    for edition in editions:
        html_dir = ROOT / EDITIONS[edition][0]
        out_root = args.path_output / edition if args.path_output else None
        if out_root is not None:
            html_dir = out_root / "_build" / "html"
        if not args.no_build:
            t0 = time.perf_counter()
            html_dir = build_site(edition, out_root)
            print(f"{edition}: site built in {time.perf_counter() - t0:.0f} s ({html_dir})")
        elif not (html_dir / "intro.html").exists():
            print(f"{html_dir} is not built; run without --no-build", file=sys.stderr)
            return 1
        summary = make_pdfs(edition, html_dir, args.out)
        for err in summary["errors"]:
            print(f"  page error: {err}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
