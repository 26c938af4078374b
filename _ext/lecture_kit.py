"""Local Sphinx extension: the lecture kit inside the built site.

* **Decks.** When an HTML build finishes, every chapter notebook is exported as a reveal.js deck
  to ``<html>/slides/NN_topic.html`` (``tools/slides.py``), with reveal.js copied from
  ``node_modules/reveal.js`` (``npm ci``) into ``<html>/slides/reveal.js/`` and MathJax taken from
  the build's own ``_static/mathjax``: the decks work with no network. Cross-references in the
  slides (``{numref}``, ``{prf:ref}``, ``{eq}``, theorem and exercise numbers) are resolved by
  Sphinx's own domains, so a deck says "Theorem 7.1" exactly where the book does. A list of the
  decks is written to ``<html>/slides/index.html``.
* **Links.** Each chapter page gets a "Lecture slides" link under its title (hidden in print).
* **Print.** ``lecture_kit_print.css`` is the print stylesheet that ``tools/pdf.py`` prints with
  (headless Chromium): no sidebars or buttons, solutions expanded, figures kept on one page.
* **Editions.** ``LECTURE_KIT_EDITION=student`` builds the student edition: every exercise, no
  solution (the gated ``solution-start`` … ``solution-end`` content included) and no teaching
  guide. The default is the instructor edition, with solutions. ``tools/pdf.py`` builds both.
"""

from __future__ import annotations

import html
import importlib.util
import os
import pathlib
import posixpath
import re
import time

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROOT = pathlib.Path(__file__).resolve().parents[1]
STATIC = pathlib.Path(__file__).resolve().parent / "lecture_kit_static"
CHAPTER_RE = re.compile(r"^chapters/(\d\d)_[\w]+$")
EDITION_VAR = "LECTURE_KIT_EDITION"


def edition() -> str:
    value = os.environ.get(EDITION_VAR, "instructor").strip().lower() or "instructor"
    if value not in ("student", "instructor"):
        raise ValueError(f"{EDITION_VAR} must be 'student' or 'instructor', not {value!r}")
    return value


def _slides_module():
    """tools/slides.py, loaded by path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("lecture_kit_slides", ROOT / "tools" / "slides.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SphinxResolver:
    """Cross-references resolved by the same Sphinx domains that resolve them in the book."""

    def __init__(self, app, docname: str, bib: dict, slides) -> None:
        self.app, self.env, self.docname, self.bib = app, app.env, docname, bib
        self.slides = slides

    def ref(self, role: str, target: str, title: str | None) -> str | None:
        if role == "eq":
            domain, typ = "math", "eq"
        elif ":" in role:
            domain, typ = role.split(":", 1)
        else:
            domain, typ = "std", role
        if domain == "std" and typ in ("ref", "numref", "term"):
            target = target.lower()
        if domain == "std" and typ == "doc":
            target = posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))
        text = title if title is not None else target
        node = pending_xref("", refdomain=domain, reftype=typ, reftarget=target,
                            refexplicit=title is not None, refdoc=self.docname, refwarn=False)
        contnode = nodes.inline(text, text)
        try:
            resolved = self.env.get_domain(domain).resolve_xref(
                self.env, self.docname, self.app.builder, typ, target, node, contnode)
        except Exception:  # an unresolvable reference reads as its text, as in the book
            resolved = None
        return resolved.astext() if resolved is not None else None

    def number(self, label: str) -> str | None:
        """'7.1' for a numbered theorem, exercise, figure … labelled ``label``."""
        for docname, by_type in self.env.toc_fignumbers.items():
            for ids in by_type.values():
                if label in ids:
                    return ".".join(map(str, ids[label]))
        return None

    def cite(self, keys: list[str]) -> str:
        return self.slides.cite_text(self.bib, keys)


def _chapter_docs(env) -> list[str]:
    return sorted(d for d in env.found_docs if CHAPTER_RE.match(d))


def build_decks(app, exception) -> None:
    """build-finished: export every chapter's deck into <html>/slides/."""
    if exception is not None or app.builder.format != "html" or app.builder.name not in ("html",):
        return
    slides = _slides_module()
    out = pathlib.Path(app.outdir) / "slides"
    try:
        slides.copy_reveal(out)
    except FileNotFoundError as err:
        logger.warning(f"lecture kit: no decks: {err}", type="lecture_kit")
        return
    macros = dict(((app.config.mathjax3_config or {}).get("tex") or {}).get("macros") or {})
    bib = slides._read_bib(ROOT / "references.bib")
    rows = []
    started = time.perf_counter()
    for docname in _chapter_docs(app.env):
        source = pathlib.Path(app.env.doc2path(docname))
        if source.suffix != ".ipynb":
            continue
        resolver = SphinxResolver(app, docname, bib, slides)
        stem = source.stem
        title = app.env.titles[docname].astext() if docname in app.env.titles else stem
        info = slides.export_deck(
            source, out / f"{stem}.html", resolver, macros=macros,
            mathjax_url="../_static/mathjax/tex-chtml.js", reveal_prefix="reveal.js",
            chapter_url=f"../{docname}.html", title=title)
        rows.append((stem, title, info))
    _write_index(out, rows)
    logger.info(f"lecture kit: {len(rows)} decks in {out} "
                f"({time.perf_counter() - started:.1f} s)")


def _write_index(out: pathlib.Path, rows) -> None:
    items = "\n".join(
        f'<li><a href="{stem}.html">{html.escape(title)}</a> ({info["slides"]} slides'
        f'{", draft: no slide metadata yet" if info["auto"] else ""})</li>' for stem, title, info in rows)
    out.joinpath("index.html").write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lecture slides</title>
<link rel="icon" href="data:,">
<style>body {{ font: 18px/1.5 sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em; }}</style>
</head><body><h1>Lecture slides</h1>
<p>One reveal.js deck per chapter; they work offline. Keys: arrows to move, <kbd>S</kbd> for
speaker notes, <kbd>F</kbd> for full screen, <kbd>Esc</kbd> for an overview.
<a href="../intro.html">Back to the book</a>.</p>
<ol>
{items}
</ol></body></html>
""", encoding="utf-8")


def add_deck_link(app, doctree, docname) -> None:
    """doctree-resolved: a 'Lecture slides' link under each chapter's title."""
    if app.builder.format != "html" or not CHAPTER_RE.match(docname):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    stem = docname.split("/")[-1]
    href = posixpath.relpath(f"slides/{stem}.html", posixpath.dirname(docname) or ".")
    link = nodes.raw(
        "", f'<p class="lecture-kit-links"><a class="reference external" href="{href}">'
            f'Lecture slides for this chapter</a> (reveal.js, works offline)</p>\n', format="html")
    index = 1 if section.children and isinstance(section.children[0], nodes.title) else 0
    section.insert(index, link)


def remove_solutions(app, doctree) -> None:
    """doctree-read, student edition: drop every solution (gated ones are merged by now)."""
    if edition() != "student":
        return
    from sphinx_exercise.nodes import solution_node, solution_start_node, solution_end_node

    for node in list(doctree.findall(lambda n: isinstance(
            n, (solution_node, solution_start_node, solution_end_node)))):
        node.parent.remove(node)


def configure(app, config) -> None:
    """config-inited: the print stylesheet; the student edition's exclusions."""
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]
    if edition() == "student":
        config.exclude_patterns = list(config.exclude_patterns) + ["teaching", "teaching/**"]
        config.html_context = dict(config.html_context or {}, lecture_kit_edition="student")
        _drop_from_toc(config, "teaching/")


def _drop_from_toc(config, prefix: str) -> None:
    """Remove the documents under `prefix` from the parsed _toc.yml (sphinx-external-toc's site map),
    so that the student edition's toc does not point at the excluded teaching pages."""
    site_map = getattr(config, "external_site_map", None)
    if site_map is None:
        return
    for doc in site_map.values():
        doc.subtrees = [tree for tree in doc.subtrees
                        if not all(str(item).startswith(prefix) for item in tree.items)]
    for name in [name for name in site_map.keys() if name.startswith(prefix)]:
        del site_map[name]


def setup(app):
    app.connect("config-inited", configure, priority=950)  # after sphinx-external-toc (900)
    app.connect("doctree-read", remove_solutions)
    app.connect("doctree-resolved", add_deck_link)
    app.connect("build-finished", build_decks)
    app.add_css_file("lecture_kit.css")
    app.add_css_file("lecture_kit_print.css", media="print")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
