"""Local Sphinx extension: small fixes so that every page loads with no JavaScript console error.

sphinx-thebe adds its inline configuration script (``const THEBE_JS_URL = ...``) from an
``env-before-read-docs`` handler, and under Jupyter Book that handler runs twice, so each page
declared the same ``const`` twice and the browser logged "Identifier 'THEBE_JS_URL' has already
been declared". Here every page keeps the first copy of each identical script and drops the rest.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    """Identity of a script entry: its file name (or None), its inline body and its attributes."""
    filename = getattr(script, "filename", script) or None  # inline scripts: None or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Remove exact duplicates from the page's script list, keeping the first occurrence."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
