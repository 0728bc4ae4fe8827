/* Search result snippets show the prose around a match: no code cells, no TeX, no buttons.
   Jupyter Book loads every script of _static/ on every page; this one acts on the search page
   only (where Sphinx's searchtools.js defines Search). Inline math reads as its MathML text. */

(() => {
const patchSearchSnippets = () => {
  if (typeof Search === "undefined") return;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll("span.math").forEach((el) => {
      const mml = el.querySelector("mjx-assistive-mml");
      el.replaceWith(doc.createTextNode(mml ? mml.textContent : ""));
    });
    doc.querySelectorAll(
      ".headerlink, script, style, .cell_input, div.highlight, pre, details.above-input, " +
      "div.math, svg, .bd-header-article, .d-print-none, nav, footer, .prev-next-area, " +
      "#jb-print-toc, #print-main-content .bd-toc"
    ).forEach((el) => el.remove());
    const main = (anchor && doc.querySelector(`[role="main"] ${anchor}`)) ||
      doc.querySelector('[role="main"]');
    return main ? main.textContent.replace(/\s+/g, " ").trim() : "";
  };
};
// bundled before searchtools.js on the search page: patch once the page is parsed (before
// Search.init, whose listener searchtools.js adds after this one)
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", patchSearchSnippets);
} else {
  patchSearchSnippets();
}
})();
