"""The site test: build the book with zero warnings, then load every page in headless Chromium.

The build is the lecture kit's instructor edition (tests/_lecture_kit.py), made once per test run
and shared with the deck and PDF tests.

For each page it asserts that every equation was typeset by the bundled MathJax, that no request
left 127.0.0.1, and that the page logged no JavaScript error. Without Chromium the test skips
locally (with install instructions) and fails under CI.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import urllib.parse

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _lecture_kit as kit  # noqa: E402  (one build of the book per test run)

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
INSTALL_HINT = ("install it with: sudo apt-get install -y chromium (Debian/Ubuntu), "
                "or set CHROMIUM=/path/to/chromium-or-chrome")

# Typesetting check, run in the page once MathJax has finished: every Sphinx math node must hold a
# rendered <mjx-container> without errors, and no TeX delimiter may be left in the visible text.
MATH_REPORT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const nodes = Array.from(document.querySelectorAll('.math'));
  const unrendered = nodes.filter(n => !n.querySelector('mjx-container')).map(n => n.textContent.slice(0, 80));
  const errors = Array.from(document.querySelectorAll('mjx-merror')).map(n => n.textContent.slice(0, 80));
  const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, .highlight').forEach(n => n.remove());
  const text = clone.textContent;
  const raw = ['$$', '\\\\(', '\\\\)', '\\\\[', '\\\\]', '\\\\begin{'].filter(d => text.includes(d));
  return {count: nodes.length, unrendered, errors, raw, mathjax: !!(window.MathJax && MathJax.version)};
}
"""


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped locally when missing, required in CI."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not pathlib.Path(CHROMIUM).exists():
        if in_ci:
            pytest.fail(f"Chromium not found at {CHROMIUM}; {INSTALL_HINT}")
        pytest.skip(f"Chromium not found at {CHROMIUM}; {INSTALL_HINT}")
    if in_ci:
        from playwright import sync_api  # required under CI: an ImportError fails the test
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        user_dir = ROOT / ".pytest_cache" / "chromium-profile"
        shutil.rmtree(user_dir, ignore_errors=True)
        context = pw.chromium.launch_persistent_context(
            str(user_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield context
        context.close()
        shutil.rmtree(user_dir, ignore_errors=True)


def test_build_has_every_chapter(site):
    """Every notebook in chapters/ became a page."""
    _, html = site
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert (html / "chapters" / f"{nb.stem}.html").exists(), f"{nb.name} was not rendered"


def test_every_page_renders_offline(site, browser):
    """Each page: math typeset, only 127.0.0.1 requested, no console error."""
    base, html = site
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if not {"_static", "slides"} & set(p.parts) and p.name != "index.html")
    assert len(pages) >= 5
    problems: list[str] = []
    typeset = 0
    for rel in pages:
        page = browser.new_page()
        foreign: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: foreign.append(r.url)
                if urllib.parse.urlsplit(r.url).hostname not in (None, "127.0.0.1") and
                not r.url.startswith(("data:", "blob:")) else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(base + rel, wait_until="load")
        if response is None or response.status != 200:
            problems.append(f"{rel}: HTTP {response.status if response else 'no response'}")
        report = page.evaluate(MATH_REPORT_JS)
        page.wait_for_timeout(100)  # let late requests and errors arrive
        page.close()
        typeset += report["count"]
        if report["count"] and not report["mathjax"]:
            problems.append(f"{rel}: MathJax did not load")
        for key in ("unrendered", "errors", "raw"):
            if report[key]:
                problems.append(f"{rel}: {key} math: {report[key][:3]}")
        if foreign:
            problems.append(f"{rel}: requests left 127.0.0.1: {sorted(set(foreign))[:3]}")
        if errors:
            problems.append(f"{rel}: console errors: {errors[:3]}")
    print(f"\nsite test: {len(pages)} pages loaded, {typeset} equations typeset")
    assert not problems, "\n".join(problems)
    assert typeset > 0


# Phones (390 px) and tablets (900 px): the contents button opens the navigation, and no page is
# wider than the screen (display equations and code scroll inside their own boxes).
WIDTH_REPORT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const doc = document.documentElement;
  const wide = Array.from(document.querySelectorAll('main *')).filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > doc.clientWidth + 1 && getComputedStyle(el).position !== 'fixed';
  }).filter(el => !el.closest('.math, mjx-container, pre, .cell_output, .pst-scrollable-table-container, table, .bd-sidebar-secondary, .bd-sidebar-primary, dialog'))
    .slice(0, 3).map(el => el.tagName.toLowerCase() + '.' + el.className + ': ' + el.textContent.slice(0, 40));
  // Inline equations cannot scroll: one that sticks out of its paragraph is cut off.
  const clipped = [];
  for (const e of document.querySelectorAll('main mjx-container:not([display="true"])')) {
    if (e.closest('details:not([open]), div.math, table, .pst-scrollable-table-container, dialog')) continue;
    let box = e.parentElement;
    while (box && getComputedStyle(box).display.startsWith('inline')) box = box.parentElement;
    const r = e.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (r.width > 0 && r.right > b.right - parseFloat(getComputedStyle(box).paddingRight) + 2) {
      clipped.push(e.textContent.slice(0, 50));
    }
  }
  // Figures: on a phone none is narrower than 0.85 CSS px per point as drawn (PNG at 200 dpi),
  // so its 12 pt labels are at least 10 px (book.js).
  const small = Array.from(document.querySelectorAll('main div.cell_output img'))
    .filter(img => img.naturalWidth > 0 && img.getBoundingClientRect().width + 1 < img.naturalWidth / 200 * 72 * 0.85)
    .map(img => (img.alt || img.src).slice(0, 50) + ' at ' + Math.round(img.getBoundingClientRect().width) + ' px');
  const figures = document.querySelectorAll('main div.cell_output img').length;
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide, clipped: clipped.slice(0, 3),
          small: small.slice(0, 3), figures};
}
"""

OPEN_MENU_JS = """
() => {
  const visible = Array.from(document.querySelectorAll('.primary-toggle'))
    .filter(b => b.offsetParent !== null && b.getBoundingClientRect().width > 0);
  if (!visible.length) return {button: false};
  visible[0].click();
  const dialog = document.getElementById('pst-primary-sidebar-modal');
  return {button: true, open: !!(dialog && dialog.open),
          links: dialog ? dialog.querySelectorAll('nav a.reference').length : 0};
}
"""


@pytest.mark.parametrize("width", [390, 900])
def test_phone_and_tablet_layout(site, browser, width):
    """At 390 and 900 px: the visible contents button opens the navigation; no sideways scroll."""
    base, html = site
    pages = ["intro.html"] + sorted(p.relative_to(html).as_posix() for p in (html / "chapters").glob("*.html"))
    pages += sorted(p.relative_to(html).as_posix() for p in (html / "appendices").glob("*.html"))
    problems: list[str] = []
    figures = 0
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 844})
    for rel in pages:
        page.goto(base + rel, wait_until="load")
        report = page.evaluate(WIDTH_REPORT_JS)
        if report["scroll"] > report["client"] + 1:
            problems.append(f"{rel}: page is {report['scroll']} px wide at {width} px {report['wide']}")
        if report["clipped"]:
            problems.append(f"{rel}: inline equations cut off at {width} px: {report['clipped']}")
        if width <= 576 and report["small"]:
            problems.append(f"{rel}: figures too small to read at {width} px: {report['small']}")
        figures += report["figures"]
        menu = page.evaluate(OPEN_MENU_JS)
        if not (menu["button"] and menu.get("open") and menu.get("links", 0) > 5):
            problems.append(f"{rel}: the contents button does not open the navigation at {width} px: {menu}")
    page.close()
    print(f"\nlayout test at {width} px: {len(pages)} pages, {figures} figures")
    assert figures > 20, "the figure check found no figures"
    assert not problems, "\n".join(problems)


def test_search_snippets_show_no_tex(site, browser):
    """Offline search finds pages, and its snippets read as text, not TeX source."""
    base, _ = site
    page = browser.new_page()
    page.goto(base + "search.html?q=softmax", wait_until="load")
    page.wait_for_selector("#search-results ul.search li p.context", timeout=20000)
    page.wait_for_timeout(500)
    snippets = page.eval_on_selector_all("#search-results li p.context", "els => els.map(e => e.textContent)")
    page.close()
    assert len(snippets) >= 3, f"search for 'softmax' found {len(snippets)} pages with snippets"
    raw = [s for s in snippets if any(tex in s for tex in ("\\(", "\\)", "\\frac", "\\sigma", "\\["))]
    assert not raw, f"search snippets show raw TeX: {raw[:2]}"
