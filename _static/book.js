/* Small fixes to the pinned theme pair (sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17.1).
 *
 * 1. Navigation on phones and tablets. The page has two "primary" (contents) toggle buttons and two
 *    "secondary" (on this page) buttons: one in the navbar, hidden, and one in the article header,
 *    visible. pydata-sphinx-theme wires only the first of each (document.querySelector), so the
 *    visible button did nothing below 992 px. Here every other toggle forwards its click to the
 *    wired one, which opens the sidebar dialog (narrow screens) or collapses the sidebar (wide).
 * 2. Long inline equations. MathJax 3 cannot break an inline formula across lines, so on a phone a
 *    long one would be cut off at the edge of its paragraph. Each inline formula wider than its
 *    paragraph becomes a box of the paragraph's width that scrolls sideways, like the displays.
 * 3. Search results. Snippets are cut from the raw HTML, where equations are still TeX source
 *    (\(\sigma(z)\)). Here each equation becomes readable text before the snippet is made.
 * 4. Figures on phones. A figure shrunk to a phone's width shrinks its labels with it: a two-panel
 *    figure 7 in wide would show its 12 pt tick labels at 8 px. On a narrow screen no figure is
 *    shown at less than FIGURE_PX_PER_PT CSS pixels per point of the figure as drawn (its PNG is
 *    saved at FIGURE_DPI, xent.figures.STYLE), so 12 pt labels stay at 10 px or more; a figure
 *    that needs more than the column scrolls sideways inside its output box, like a wide display
 *    equation, and a tap on it opens the full-size image.
 */
(function () {
  "use strict";

  function forwardToggles(selector) {
    const buttons = Array.from(document.querySelectorAll(selector));
    const wired = buttons[0];
    buttons.slice(1).forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        wired.click();
      });
    });
  }

  const TEX_SYMBOLS = {
    sigma: "σ", Sigma: "Σ", sum: "Σ", prod: "Π", partial: "∂", nabla: "∇", epsilon: "ε",
    varepsilon: "ε", delta: "δ", Delta: "Δ", lambda: "λ", mu: "μ", pi: "π", theta: "θ",
    alpha: "α", beta: "β", gamma: "γ", tau: "τ", phi: "φ", infty: "∞", cdot: "·", times: "×",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", to: "→",
    in: "∈", odot: "⊙", mid: "|", lVert: "‖", rVert: "‖", Vert: "‖", dots: "…", ldots: "…",
    cdots: "⋯", R: "ℝ", E: "E", KL: "D_KL", log: "log", ln: "ln", exp: "exp", max: "max",
    min: "min", softmax: "softmax", LSE: "LSE", diag: "diag",
  };

  /* A rough plain-text reading of TeX, good enough for a search snippet. */
  function texToText(tex) {
    return tex
      .replace(/\\\(|\\\)|\\\[|\\\]/g, " ")
      .replace(/\\(?:d|t)?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)")
      .replace(/\\(?:mathrm|mathbf|mathbb|operatorname|text|textrm|boldsymbol)\s*\{([^{}]*)\}/g, "$1")
      .replace(/\\begin\{[^}]*\}|\\end\{[^}]*\}|\\label\{[^}]*\}/g, " ")
      .replace(/\\([A-Za-z]+)/g, (m, name) => (name in TEX_SYMBOLS ? TEX_SYMBOLS[name] : ""))
      .replace(/\\[,;:!> ]|\\\\|&/g, " ")
      .replace(/\\left|\\right|\\big|\\Big|\\bigl|\\bigr/g, "")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  function readableSearchSnippets() {
    // searchtools.js declares `const Search` at the top level: a global binding, not window.Search.
    if (typeof Search === "undefined" || !Search.htmlToText || Search.htmlToText.bookPatched) return;
    const original = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math .headerlink").forEach((node) => node.remove());
      doc.querySelectorAll(".math").forEach((node) => {
        node.textContent = " " + texToText(node.textContent.trim()) + " ";
      });
      return original.call(this, doc.documentElement.outerHTML, anchor);
    };
    Search.htmlToText.bookPatched = true;
  }

  function boxWideInlineMath() {
    document.querySelectorAll('mjx-container:not([display="true"])').forEach((node) => {
      node.classList.remove("book-wide-math");
      let box = node.parentElement;
      while (box && getComputedStyle(box).display.startsWith("inline")) box = box.parentElement;
      if (!box) return;
      const style = getComputedStyle(box);
      const right = box.getBoundingClientRect().right - parseFloat(style.paddingRight);
      if (node.getBoundingClientRect().right > right + 1) node.classList.add("book-wide-math");
    });
  }

  const FIGURE_DPI = 200;
  const FIGURE_PX_PER_PT = 0.85;
  const NARROW = window.matchMedia("(max-width: 576px)");

  function readableFigure(img) {
    const points = (img.naturalWidth / FIGURE_DPI) * 72;
    img.style.minWidth = NARROW.matches && points > 0 ? `${Math.round(points * FIGURE_PX_PER_PT)}px` : "";
  }

  function readableFigures() {
    document.querySelectorAll("div.cell_output img").forEach((img) => {
      if (img.complete) readableFigure(img);
      else img.addEventListener("load", () => readableFigure(img), { once: true });
    });
  }

  function whenMathIsTypeset(callback) {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(callback);
    } else {
      window.addEventListener("load", () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(callback);
      });
    }
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      boxWideInlineMath();
      readableFigures();
    }, 200);
  });

  document.addEventListener("DOMContentLoaded", () => {
    whenMathIsTypeset(boxWideInlineMath);
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    readableSearchSnippets();
    readableFigures();
  });
})();
