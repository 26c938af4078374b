"""Fixtures shared by the browser tests (test_site.py, test_slides.py)."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _lecture_kit as kit  # noqa: E402  (one build of the book per test run)


@pytest.fixture(scope="module")
def site():
    """The built site (instructor edition, built once per run with -W -n) served on 127.0.0.1."""
    html = kit.built_site("instructor")
    with kit.serve(html) as base:
        yield base, html
