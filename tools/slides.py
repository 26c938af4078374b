"""Lecture decks: one reveal.js deck per chapter, exported from the chapter notebook itself.

The deck is nbconvert's reveal.js export of a *copy* of the notebook, prepared for the lecture:

* cells keep their ``slideshow.slide_type`` (CONTRIBUTING, "Slides"); ``skip`` cells, solution
  cells and everything between ``solution-start`` and ``solution-end`` are left out;
* a code cell shows its source only when its role is ``teaching`` (or ``slide``); a plumbing
  cell that draws a figure shows the figure, not the code; glue records never show;
* slide-only cells (tag ``remove-cell``, role ``slide``), which the book hides, are shown;
* MyST markup, which neither nbconvert nor reveal.js understands, becomes plain Markdown/HTML:
  ``{eval}`` becomes the result stored in the cell (``tools/execute.py``), ``{numref}`` / ``{prf:ref}`` / ``{eq}`` / ``{ref}``
  the text the book shows (resolved by Sphinx when the decks are built with the site), theorem,
  exercise and admonition directives become boxes, ``$$ … $$ (label)`` gets its equation number.

The template (``tools/slides_template/``) loads reveal.js from ``slides/reveal.js/`` (copied from
``node_modules/`` by ``_ext/lecture_kit.py``) and MathJax from the site's own ``_static/mathjax``,
so a deck needs no network.

Decks are normally built with the site (``jupyter-book build .``: the lecture-kit extension writes
``_build/html/slides/NN_topic.html``). This script re-exports them into an existing build without
Sphinx, resolving cross-references approximately (``Chapter 7``, label text otherwise):

    python tools/slides.py                       # every chapter into _build/html/slides/
    python tools/slides.py chapters/07_gradient.ipynb --out /tmp/decks
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import pathlib
import posixpath
import re
import shutil
import sys
from typing import Callable, Iterable, Protocol

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEMPLATE_PARENT = ROOT / "tools"
TEMPLATE_NAME = "slides_template"
REVEAL_SRC = ROOT / "node_modules" / "reveal.js"
# What a deck needs from the reveal.js package (the white theme's fonts are local files).
REVEAL_FILES = [
    "LICENSE",
    "dist/reset.css",
    "dist/reveal.css",
    "dist/reveal.js",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
]
PRF_KINDS = {"theorem", "lemma", "proposition", "corollary", "definition", "remark", "example",
             "conjecture", "axiom", "criterion", "algorithm", "observation", "property", "assumption",
             "notation", "proof"}
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso", "admonition", "dropdown"}


class Resolver(Protocol):
    """Turns a cross-reference into the text the book shows for it."""

    def ref(self, role: str, target: str, title: str | None) -> str | None: ...

    def number(self, label: str) -> str | None: ...

    def cite(self, keys: list[str]) -> str: ...


class StaticResolver:
    """Resolution without Sphinx: chapter labels by file number, other labels by their title text."""

    def __init__(self, root: pathlib.Path = ROOT) -> None:
        self.chapters = {}
        for nb in sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb")):
            self.chapters[f"ch{int(nb.name[:2])}"] = str(int(nb.name[:2]))
        self.bib = _read_bib(root / "references.bib")

    def ref(self, role: str, target: str, title: str | None) -> str | None:
        number = self.chapters.get(target)
        if title and "%s" in title:
            return title.replace("%s", number or "?")
        if title and "{number}" in title:
            return title.replace("{number}", number or "?")
        if title:
            return title
        if number:
            return f"Chapter {number}"
        return None

    def number(self, label: str) -> str | None:
        return None

    def cite(self, keys: list[str]) -> str:
        return cite_text(self.bib, keys)


def _read_bib(path: pathlib.Path) -> dict[str, tuple[str, str]]:
    """key -> (authors' surnames, year) from a BibTeX file, enough for "(Cover and Thomas 2006)"."""
    entries: dict[str, tuple[str, str]] = {}
    if not path.exists():
        return entries
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, re.S):
        key, body = match.group(1), match.group(2)
        fields = dict((k.lower(), v) for k, v in
                      re.findall(r"(\w+)\s*=\s*[{\"](.*?)[}\"]\s*,?\s*$", body, re.M))
        authors = [a.strip() for a in fields.get("author", "").split(" and ") if a.strip()]
        surnames = [a.split(",")[0].strip("{} ") if "," in a else a.split()[-1].strip("{} ")
                    for a in authors]
        if len(surnames) > 2:
            who = f"{surnames[0]} et al."
        else:
            who = " and ".join(surnames) or key
        entries[key] = (who, fields.get("year", "").strip("{} "))
    return entries


def cite_text(bib: dict[str, tuple[str, str]], keys: list[str]) -> str:
    parts = []
    for key in keys:
        who, year = bib.get(key, (key, ""))
        parts.append(f"{who} {year}".strip())
    return "(" + "; ".join(parts) + ")"


# --------------------------------------------------------------------------------------------
# MyST -> Markdown for reveal.js
# --------------------------------------------------------------------------------------------

ROLE_RE = re.compile(r"\{([A-Za-z][\w:\-]*)\}`([^`]*)`")
TARGET_RE = re.compile(r"^\s*\(([^()\s]+)\)=\s*$")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*\{([\w:\-]+)\}\s*(.*?)\s*$")
PLAIN_FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
EQ_LABEL_RE = re.compile(r"\$\$\s*\(([\w\-:.]+)\)\s*$")


class DeckState:
    """What carries over from one markdown cell to the next: are we inside a gated solution?"""

    def __init__(self) -> None:
        self.in_solution = False


QUOTED = re.compile(r"""^(['"]).*\1$""")  # a str's repr, shown without its quotes (as the site does)


def stored_values(nb) -> dict[str, str]:
    """expression -> the text an ``{eval}`` role shows: its result stored by ``tools/execute.py``."""
    values: dict[str, str] = {}
    for cell in nb.cells:
        for entry in cell.get("metadata", {}).get("user_expressions", []):
            text = entry.get("result", {}).get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            values[entry["expression"]] = text[1:-1] if QUOTED.match(text) else text
    return values


def _split_title(content: str) -> tuple[str | None, str]:
    match = re.match(r"^(.*?)\s*<([^<>]+)>\s*$", content, re.S)
    if match and match.group(1):
        return match.group(1), match.group(2).strip()
    return None, content.strip()


def convert_roles(text: str, resolver: Resolver, values: dict[str, str]) -> str:
    """Replace every MyST role in a line of Markdown by plain text (math stays math)."""

    def replace(match: re.Match) -> str:
        role, content = match.group(1), match.group(2)
        if role == "eval":
            return html.escape(values.get(content, f"[{content}?]"))
        if role == "math":
            return f"${content}$"
        if role in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts", "cite:alp"):
            return html.escape(resolver.cite([k.strip() for k in content.split(",") if k.strip()]))
        if role in ("sub", "sup"):
            return f"<{role}>{html.escape(content)}</{role}>"
        if role in ("numref", "ref", "prf:ref", "eq", "doc", "term", "any", "download", "abbr"):
            title, target = _split_title(content)
            if role == "abbr":
                return html.escape(re.sub(r"\s*\(.*\)\s*$", "", content))
            text = resolver.ref(role, target, title)
            if text is None:
                text = title or target
            if role == "eq" and not text.startswith("("):
                text = f"({text})"
            return html.escape(text.replace("%s", "?"))
        return html.escape(content)  # kbd, guilabel, …: the text itself

    return NOTEBOOK_LINK.sub(_page_link, ROLE_RE.sub(replace, text))


NOTEBOOK_LINK = re.compile(r"\]\((?![a-z]+:)([^()\s#]+)\.ipynb(#[^()\s]*)?\)")  # [text](05_x.ipynb)


def _page_link(match: re.Match) -> str:
    """A link to a notebook, as written in a chapter (chapters/), made a link to its page on the site."""
    page = posixpath.normpath(posixpath.join("chapters", match.group(1)))
    return f"](../{page}.html{match.group(2) or ''})"


def _box(kind: str, heading: str, body: str) -> str:
    heading_html = f"<p class=\"deck-box-title\">{heading}</p>\n\n" if heading else ""
    return (f"<div class=\"deck-box deck-{kind}\">\n\n{heading_html}{body.strip()}\n\n</div>\n")


def _directive(name: str, argument: str, options: dict[str, str], body: str,
               resolver: Resolver, values: dict[str, str], state: DeckState) -> str:
    """One MyST directive as Markdown with HTML boxes; '' for what a deck leaves out."""
    label = options.get("label", "")
    inner = lambda: myst_to_markdown(body, resolver, values, state)  # noqa: E731
    if name in ("solution", "solution-start"):
        if name == "solution-start":
            state.in_solution = True
        return ""
    if name == "solution-end":
        state.in_solution = False
        return ""
    kind = name.split(":", 1)[1] if name.startswith("prf:") else name
    if name.startswith("prf:") and kind in PRF_KINDS:
        if kind == "proof":
            return _box("proof", "<em>Proof.</em>", inner())
        number = (resolver.number(label) if label else None) or kind.capitalize()
        if number and not number.lower().startswith(kind):
            number = f"{kind.capitalize()} {number}"
        heading = f"<strong>{html.escape(number)}</strong>"
        if argument:
            heading += f" ({convert_roles(argument, resolver, values)})"
        return _box("prf", heading, inner())
    if name == "exercise":
        number = (resolver.number(label) if label else None) or "Exercise"
        if not number.lower().startswith("exercise"):
            number = f"Exercise {number}"
        heading = f"<strong>{html.escape(number)}</strong>"
        if argument:
            heading += f" ({convert_roles(argument, resolver, values)})"
        return _box("exercise", heading, inner())
    if name in ("math", "prf:math"):
        tag = _eq_tag(label, resolver)
        return f"$$\n{body.strip()}{tag}\n$$\n"
    if name in ADMONITIONS:
        title = argument if name in ("admonition", "dropdown") else name.capitalize()
        return _box("admonition", f"<strong>{convert_roles(title, resolver, values)}</strong>",
                    inner())
    if name in ("code-block", "code", "sourcecode", "code-cell"):
        return f"```{argument}\n{body.rstrip()}\n```\n"
    if name in ("figure", "image", "toctree", "tableofcontents",
                "bibliography", "raw", "only"):
        return ""
    return inner()


def _eq_tag(label: str, resolver: Resolver) -> str:
    if not label:
        return ""
    number = resolver.ref("eq", label, None)
    if not number:
        return ""
    return f" \\tag{{{number.strip('()')}}}"


def myst_to_markdown(text: str, resolver: Resolver, values: dict[str, str],
                     state: DeckState | None = None) -> str:
    """A MyST Markdown cell as the CommonMark + HTML + TeX that nbconvert and MathJax render."""
    state = state or DeckState()
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    in_math = False
    while i < len(lines):
        line = lines[i]
        fence = FENCE_RE.match(line)
        if fence and not in_math:
            indent, marks, name, argument = fence.groups()
            i += 1
            options: dict[str, str] = {}
            while i < len(lines):
                opt = re.match(r"^\s*:([\w\-]+):\s*(.*)$", lines[i])
                if not opt:
                    break
                options[opt.group(1)] = opt.group(2).strip()
                i += 1
            body: list[str] = []
            while i < len(lines):
                stripped = lines[i].strip()
                if stripped and set(stripped) == {marks[0]} and len(stripped) >= len(marks):
                    i += 1
                    break
                body.append(lines[i])
                i += 1
            if name == "solution-end":
                state.in_solution = False
                continue
            if state.in_solution:
                continue
            out.append(_directive(name, argument, options, "\n".join(body), resolver, values, state))
            continue
        if state.in_solution:
            i += 1
            continue
        plain = PLAIN_FENCE_RE.match(line)
        if plain and not in_math:  # a literal code block: copy it untouched
            marks = plain.group(2)
            out.append(line)
            i += 1
            while i < len(lines):
                out.append(lines[i])
                stripped = lines[i].strip()
                i += 1
                if stripped and set(stripped) == {marks[0]} and len(stripped) >= len(marks):
                    break
            continue
        if TARGET_RE.match(line):
            i += 1
            continue
        # display math: $$ … $$ (label) on one line or several
        if line.count("$$") % 2 == 1:
            if in_math:
                label = EQ_LABEL_RE.search(line)
                if label:
                    line = line[:label.start()] + _eq_tag(label.group(1), resolver).strip() + " $$"
            in_math = not in_math
        elif "$$" in line:
            label = EQ_LABEL_RE.search(line)
            if label and line.strip().startswith("$$"):
                line = line[:label.start()] + _eq_tag(label.group(1), resolver) + " $$"
        out.append(line if in_math and "$$" not in line else convert_roles(line, resolver, values))
        i += 1
    return "\n".join(out).strip() + "\n"


# --------------------------------------------------------------------------------------------
# The deck notebook
# --------------------------------------------------------------------------------------------

def has_slide_metadata(nb) -> bool:
    """True when the chapter's cells carry slide metadata (more than the title cell's)."""
    typed = [c for c in nb.cells if (c.metadata.get("slideshow") or {}).get("slide_type")]
    return len(typed) >= 2


def _role(cell) -> str | None:
    return (cell.metadata.get("book") or {}).get("role")


def _slide_type(cell, auto: bool) -> str:
    if not auto:
        return (cell.metadata.get("slideshow") or {}).get("slide_type") or "-"
    # A chapter without slide metadata yet: headings open slides, teaching code and figures follow.
    tags = cell.metadata.get("tags", [])
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        first = first if not TARGET_RE.match(first) else (cell.source.split("\n", 2) + [""])[1]
        return "slide" if first.startswith("#") and "remove-cell" not in tags else "skip"
    has_figure = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    if _role(cell) == "teaching":
        return "subslide"
    if has_figure and "remove-cell" not in tags:
        return "subslide"
    return "skip"


def deck_notebook(nb, resolver: Resolver):
    """A copy of the notebook, prepared for nbconvert's reveal.js exporter (see module docstring)."""
    nb = copy.deepcopy(nb)
    auto = not has_slide_metadata(nb)
    values = stored_values(nb)
    state = DeckState()
    cells = []
    for cell in nb.cells:
        slide_type = _slide_type(cell, auto)
        role = _role(cell)
        if role == "frontmatter" or cell.source.lstrip().startswith("---\n"):
            continue  # the notebook's front matter (MathJax macros for JupyterLab)
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            was_in_solution = state.in_solution
            source = myst_to_markdown(cell.source, resolver, values, state)
            if auto and slide_type == "slide":
                source = _first_block(source)
            if slide_type == "skip" or (was_in_solution and not source.strip()):
                continue
            if not source.strip():
                continue
            cell.source = source
        elif cell.cell_type == "code":
            if slide_type == "skip" or role in ("solution", "check") and slide_type == "skip":
                continue
            if role == "solution" or state.in_solution:
                continue
            if "remove-cell" in tags and role != "slide":
                continue
            cell.outputs = [o for o in cell.get("outputs", [])
                            if "scrapbook" not in (o.get("metadata") or {})
                            and o.get("output_type") != "error"]
            if "remove-output" in tags:
                cell.outputs = []
            if role not in ("teaching", "slide") or "remove-input" in tags:
                cell.metadata.setdefault("transient", {})["remove_source"] = True
                if not cell.outputs:
                    continue
        else:
            continue
        cell.metadata["slideshow"] = {"slide_type": slide_type}
        cells.append(cell)
    if cells:
        first = cells[0].metadata["slideshow"]
        if first["slide_type"] not in ("slide",):
            first["slide_type"] = "slide"
    nb.cells = cells
    nb.metadata["lecture_kit"] = {"auto": auto}
    return nb


def _first_block(markdown: str) -> str:
    """The heading and first paragraph of a cell (auto decks only)."""
    blocks = [b for b in re.split(r"\n\s*\n", markdown.strip()) if b.strip()]
    return "\n\n".join(blocks[:2]) + "\n"


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def count_slides(deck_html: str) -> int:
    """Slides a reader steps through: the innermost <section>s (reveal.js's own count)."""
    body = deck_html.split('<div class="slides">', 1)[-1]
    stack: list[bool] = []  # for each open section: has it a child section?
    count = 0
    for tag in re.finditer(r"<(/?)section\b", body):
        if tag.group(1):
            if stack and not stack.pop():
                count += 1
        else:
            if stack:
                stack[-1] = True
            stack.append(False)
    return count


def export_deck(nb_path: pathlib.Path, out_path: pathlib.Path, resolver: Resolver | None = None,
                *, mathjax_url: str = "../_static/mathjax/tex-chtml.js",
                reveal_prefix: str = "reveal.js", chapter_url: str = "",
                macros: dict[str, str] | None = None, title: str = "") -> dict:
    """Write the deck of one chapter notebook; returns {"slides": n, "auto": bool}."""
    import nbformat
    from nbconvert import SlidesExporter

    resolver = resolver or StaticResolver()
    nb = nbformat.read(nb_path, as_version=4)
    deck = deck_notebook(nb, resolver)
    exporter = SlidesExporter(
        template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATE_PARENT)],
        reveal_url_prefix=reveal_prefix, reveal_theme="white", reveal_transition="none",
        reveal_number="c/t", reveal_width="1280", reveal_height="720", reveal_scroll=False,
        exclude_input_prompt=True, exclude_output_prompt=True)
    resources = {
        "lecture_kit": {"mathjax_url": mathjax_url, "macros": json.dumps(macros or {}),
                        "chapter_url": chapter_url, "title": title or chapter_title(nb),
                        "auto": deck.metadata["lecture_kit"]["auto"]},
        "metadata": {"name": nb_path.stem},
    }
    body, _ = exporter.from_notebook_node(deck, resources=resources)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(body, encoding="utf-8")
    return {"slides": count_slides(body), "auto": deck.metadata["lecture_kit"]["auto"]}


def chapter_title(nb) -> str:
    """The chapter's '# Title' (the first heading that the book shows, not the front matter)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        if cell.source.lstrip().startswith("---"):  # a YAML front-matter block
            continue
        match = re.search(r"^#\s+(.+)$", cell.source, re.M)
        if match:
            return match.group(1).strip()
    return ""


def copy_reveal(slides_dir: pathlib.Path, src: pathlib.Path = REVEAL_SRC) -> None:
    """Copy the parts of reveal.js a deck loads into slides_dir/reveal.js/."""
    if not (src / "dist" / "reveal.js").exists():
        raise FileNotFoundError(
            f"reveal.js not found in {src}: run `npm ci` in the repository root "
            "(bash tools/install.sh does it)")
    dest = slides_dir / "reveal.js"
    for rel in REVEAL_FILES:
        source, target = src / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)


def site_macros(root: pathlib.Path = ROOT) -> dict[str, str]:
    """The MathJax macros of _config.yml (the same ones the site uses)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    tex = (((config.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}).get("tex") or {}
    return dict(tex.get("macros") or {})


def chapter_notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    return sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb"))


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path,
                        help="chapter notebooks (default: every chapter)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_build" / "html" / "slides",
                        help="folder for the decks (default: _build/html/slides, beside the site)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    notebooks = args.notebooks or chapter_notebooks()
    copy_reveal(args.out)
    macros = site_macros()
    resolver = StaticResolver()
    for nb_path in notebooks:
        info = export_deck(nb_path, args.out / f"{nb_path.stem}.html", resolver, macros=macros,
                           chapter_url=f"../chapters/{nb_path.stem}.html")
        flag = "  (no slide metadata yet: draft deck from the headings)" if info["auto"] else ""
        print(f"{nb_path.stem}: {info['slides']} slides{flag}")
    if not (args.out.parent / "_static" / "mathjax").exists():
        print(f"note: {args.out.parent / '_static' / 'mathjax'} is missing; build the site first "
              "(jupyter-book build .) so the decks find MathJax", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
