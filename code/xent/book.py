"""Notebook plumbing for the book's chapters: computed numbers in the prose.

A hidden code cell computes a number and records it with ``glue(name, value)``; the prose shows it
with the inline role ``{eval}`glued("name:.4f")```. The site renders that role from the result
stored in the Markdown cell (``tools/execute.py`` evaluates it after the cells above it have run,
as JupyterLab does when a reader runs the cell), and JupyterLab (jupyterlab-myst) shows the same
stored result before anything runs.
"""

from __future__ import annotations

from ast import literal_eval
from typing import Any

GLUE_PREFIX = "application/papermill.record/"  # the MIME prefix myst-nb reads glued values from

_GLUED: dict[str, str] = {}  # name -> the text/plain repr that glue() recorded in this kernel


def glue(name: str, value: Any, display: bool = True) -> None:
    """Record value under name for ``glued(name)``, and store its display data as myst_nb.glue does.

    The stored output is what nbval compares on every test run; the same output as
    `myst_nb.glue`, without importing it: that import pulls in nbformat and jsonschema, whose
    format checker builds a grammar at import time (about 3 s per kernel).
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    mimebundle, metadata = format_display_data(value)
    _GLUED[name] = mimebundle["text/plain"]
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)


def format_plain_text(text: str, fmt_spec: str) -> str:
    """A glued value's text/plain formatted with fmt_spec, exactly as myst-nb's `{glue:text}` does."""
    try:
        value: Any = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in ("b", "c", "d", "o", "x", "X"):
        value = int(value)
    elif type_char in ("e", "E", "f", "F", "g", "G", "n", "%"):
        value = float(value)
    return format(value, fmt_spec)


def split_spec(spec: str) -> tuple[str, str]:
    """'name:.4f' -> ('name', '.4f'); 'name' -> ('name', 's'), the split `{glue:text}` makes."""
    parts = spec.rsplit(":", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "s")


def glued(spec: str) -> str:
    """The value glued under 'name', formatted by an optional spec: glued("ch2-h:.4f") -> '1.5000'."""
    name, fmt_spec = split_spec(spec)
    if name not in _GLUED:
        raise LookupError(f"{name!r} is computed by a code cell above this text: run the cells above first")
    return format_plain_text(_GLUED[name], fmt_spec)
