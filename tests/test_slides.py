"""The lecture decks: every chapter's reveal.js deck, opened in headless Chromium with no network.

The book is built once (tests/_lecture_kit.py); the lecture-kit extension exports one deck per
chapter into ``_build/html/slides/``. For each deck the browser test asserts that reveal.js
initialised, that every slide's math was typeset by the site's MathJax (no raw TeX, no MathJax
error, no MyST markup left over), that no request left 127.0.0.1 and that nothing was logged as a
console error. It prints the slide count of every deck. A chapter whose notebook has no slide
metadata yet still gets a (draft) deck, which must pass the same checks; the test then reports it
as SKIPPED with "no slide metadata yet", so the summary names every chapter still without a deck
of its own.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
import urllib.parse

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _lecture_kit as kit  # noqa: E402

sys.path.insert(0, str(kit.ROOT / "tools"))
import slides  # noqa: E402

CHAPTERS = kit.chapter_notebooks()
MIN_SLIDES, MAX_SLIDES = 12, 36  # "roughly 15-30" (CONTRIBUTING, "Slides")
MIN_ZOOM = 0.7  # a slide zoomed out further than this is too small to read (CONTRIBUTING, "Slides")

# Per slide: math typeset, no MathJax error, no raw TeX or MyST outside code, content height.
SLIDE_REPORT_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const slides = Reveal.getSlides();
  return slides.map((s, i) => {
    const clone = s.cloneNode(true);
    clone.querySelectorAll('pre, code, script, style, mjx-container, aside.notes').forEach(n => n.remove());
    const text = clone.textContent;
    const raw = ['$', '\\(', '\\[', '\\begin{', '\\frac', '{math}', '{numref}', '{prf:', '{glue', '{eval}',
                 '{eq}', '{ref}', '{cite}', ':label:', '```', '?]'].filter(d => text.includes(d));
    const zoom = parseFloat(s.dataset.deckFit || '1');  // set by the deck's deckFit()
    const height = Math.round(parseFloat(s.dataset.deckNeeded || '0') * zoom);
    return {index: i, math: s.querySelectorAll('mjx-container').length,
            errors: Array.from(s.querySelectorAll('mjx-merror')).map(n => n.textContent.slice(0, 60)),
            raw, height, zoom,
            title: (s.querySelector('h1, h2, h3') || {textContent: ''}).textContent.replace('\u00b6', '').trim().slice(0, 50)};
  });
}
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with kit.browser_context(tmp_path_factory.mktemp("slides"),
                             viewport={"width": 1280, "height": 720}) as context:
        yield context


def test_every_chapter_has_a_deck_and_a_link(site):
    """slides/NN_topic.html for every chapter, reveal.js beside them, a link on the chapter page."""
    _, html = site
    assert CHAPTERS, "no chapter notebooks"
    for rel in slides.REVEAL_FILES:
        assert (html / "slides" / "reveal.js" / rel).exists(), f"reveal.js file {rel} not copied"
    assert (html / "slides" / "index.html").exists()
    for nb in CHAPTERS:
        deck = html / "slides" / f"{nb.stem}.html"
        assert deck.exists(), f"no deck for {nb.name}"
        text = deck.read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert not url.startswith(("http:", "https:", "//")), f"{deck.name} loads {url}"
        page = (html / "chapters" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert f'href="../slides/{nb.stem}.html"' in page, f"{nb.stem}.html has no link to its deck"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[nb.stem for nb in CHAPTERS])
def test_deck_opens_offline(site, browser, notebook):
    """reveal.js ready, math typeset on every slide, only 127.0.0.1 requested, no console error."""
    base, html = site
    page = browser.new_page()
    foreign: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: foreign.append(r.url)
            if urllib.parse.urlsplit(r.url).hostname not in (None, "127.0.0.1")
            and not r.url.startswith(("data:", "blob:")) else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{base}slides/{notebook.stem}.html", wait_until="load")
    assert response is not None and response.status == 200
    page.wait_for_function("document.documentElement.dataset.revealReady === 'true' && "
                           "document.documentElement.dataset.deckFitted === 'true' && "
                           "window.Reveal && Reveal.isReady()", timeout=30_000)
    total = page.evaluate("Reveal.getTotalSlides()")
    report = page.evaluate(SLIDE_REPORT_JS)
    page.wait_for_timeout(100)  # late requests and errors
    page.close()
    math = sum(r["math"] for r in report)
    # zoomed out to fit (reported), and still taller than the 720 px slide at 60 % (reported)
    shrunk = [f"{r['index'] + 1} ({r['zoom']:.0%})" for r in report if r["zoom"] < 0.8]
    tall = [f"{r['index'] + 1} ({r['title']!r})" for r in report if r["height"] > 730]
    nb_has_slides = slides.has_slide_metadata(
        __import__("nbformat").read(notebook, as_version=4))
    print(f"\n{notebook.stem}: {total} slides, {math} equations typeset"
          + ("" if nb_has_slides else " (draft deck: no slide metadata yet)")
          + (f"; zoomed below 80 % to fit: {', '.join(shrunk)}" if shrunk else "")
          + (f"; overflowing even at 60 %: {', '.join(tall)}" if tall else ""))
    (kit.CACHE / "slide-counts").mkdir(parents=True, exist_ok=True)
    (kit.CACHE / "slide-counts" / f"{notebook.stem}.json").write_text(
        json.dumps({"slides": total, "equations": math, "draft": not nb_has_slides,
                    "shrunk": shrunk, "tall": tall}))
    problems = [f"slide {r['index'] + 1} ({r['title']!r}): {key} {r[key]}"
                for r in report for key in ("errors", "raw") if r[key]]
    if foreign:
        problems.append(f"requests left 127.0.0.1: {sorted(set(foreign))[:3]}")
    if errors:
        problems.append(f"console errors: {errors[:3]}")
    assert total == len(report) >= 1
    assert not problems, f"{notebook.stem}:\n" + "\n".join(problems)
    if not nb_has_slides:
        pytest.skip(f"{notebook.stem}: no slide metadata yet (its draft deck of {total} slides, "
                    "made from the headings, opened cleanly)")
    assert MIN_SLIDES <= total <= MAX_SLIDES, (
        f"{notebook.stem}: {total} slides; a lecture is roughly 15-30 (CONTRIBUTING, 'Slides')")
    unreadable = [f"{r['index'] + 1} ({r['title']!r}, {r['zoom']:.0%})" for r in report
                  if r["zoom"] < MIN_ZOOM - 0.005 or r["height"] > 730]
    assert not unreadable, (f"{notebook.stem}: slides that need more than {1 - MIN_ZOOM:.0%} zoom-out or still "
                            f"overflow; split them (CONTRIBUTING, 'Slides'): {', '.join(unreadable)}")
