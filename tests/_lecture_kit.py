"""Shared by the lecture-kit tests (test_slides.py, test_pdf.py): one build of each edition of the
book per pytest run, even when pytest-xdist runs those files in different worker processes.

The build goes to ``.pytest_cache/lecture-kit/<edition>/`` (excluded from the book's sources), so
a later run rebuilds incrementally; a file lock makes the workers wait for the first one, and the
run id (``PYTEST_XDIST_TESTRUNUID``, or the process id without xdist) tells a fresh run to rebuild.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = ROOT / ".pytest_cache" / "lecture-kit"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
INSTALL_HINT = "install it with: sudo apt-get install -y chromium (Debian/Ubuntu)"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _run_id() -> str:
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getppid()}-{os.getpid()}"


def built_site(edition: str = "instructor") -> pathlib.Path:
    """The html folder of this run's build of one edition (built on first use).

    The build is the book's gate: `-W -n --keep-going`, and any warning fails it. The site test,
    the deck test and the PDF test all use this one build of each edition.
    """
    base = CACHE / edition
    base.mkdir(parents=True, exist_ok=True)
    html = base / "_build" / "html"
    stamp = base / "run-id"
    with open(base.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == _run_id() and (html / "intro.html").exists():
            return html
        stamp.unlink(missing_ok=True)
        jb = pathlib.Path(sys.executable).with_name("jupyter-book")
        cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "-W", "-n",
               "--keep-going", "--path-output", str(base)]
        env = dict(os.environ, LECTURE_KIT_EDITION=edition)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
        assert proc.returncode == 0 and not warnings and (html / "intro.html").exists(), (
            f"the {edition} build failed or warned:\n" + "\n".join(warnings or [log[-3000:]]))
        stamp.write_text(_run_id())
        return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(html: pathlib.Path):
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def require_chromium():
    """playwright's sync API, or skip (locally) / fail (CI) without Chromium."""
    if not pathlib.Path(CHROMIUM).exists():
        if in_ci():
            pytest.fail(f"Chromium not found at {CHROMIUM}; {INSTALL_HINT}")
        pytest.skip(f"Chromium not found at {CHROMIUM}; {INSTALL_HINT}")
    if in_ci():
        from playwright import sync_api
        return sync_api
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def browser_context(tmp_dir: pathlib.Path, **kwargs):
    sync_api = require_chromium()
    profile = tmp_dir / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **kwargs)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def chapter_notebooks() -> list[pathlib.Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
