"""Notebook plumbing for the book's chapters: gluing computed numbers into the prose."""

from __future__ import annotations

from typing import Any

GLUE_PREFIX = "application/papermill.record/"  # the MIME prefix myst-nb reads glued values from


def glue(name: str, value: Any, display: bool = True) -> None:
    """Store value's display data under name for `{glue:text}` in the prose, as myst_nb.glue does.

    The same output as `myst_nb.glue`, without importing it: that import pulls in nbformat and
    jsonschema, whose format checker builds a grammar at import time (about 3 s per kernel).
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    mimebundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
