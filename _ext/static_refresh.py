"""Local Sphinx extension: an edit to a file in `_static/` reaches an incremental build.

Sphinx copies the static files only when it writes at least one page: after editing only
`_static/book.js` or `book.css`, `jupyter-book build .` said "no targets are out of date" and kept
the old copies in `_build/html/_static/` (and so did the tests' cached builds). Here, when a
static file differs from its copy in the output, the root page counts as outdated, so the build
writes it and copies the static files.
"""

from __future__ import annotations

import filecmp
import pathlib


def changed_static_files(app) -> list[str]:
    """The files of html_static_path whose copy in <outdir>/_static is missing or different."""
    out = pathlib.Path(app.outdir) / "_static"
    changed = []
    for entry in app.config.html_static_path:
        folder = pathlib.Path(app.confdir, entry)
        for source in (p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
            copy = out / source.relative_to(folder)
            if not copy.exists() or not filecmp.cmp(source, copy, shallow=False):
                changed.append(str(source))
    return changed


def outdated_if_static_changed(app, env, added, changed, removed) -> list[str]:
    if app.builder.format == "html" and changed_static_files(app):
        return [env.config.root_doc]
    return []


def setup(app):
    app.connect("env-get-outdated", outdated_if_static_changed)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
