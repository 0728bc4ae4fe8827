/* Search result snippets show the prose around a match, not code cells or math
   (helpers/sphinx_site.py loads this on the search page, right after searchtools.js). */
(() => {
  if (typeof Search === "undefined") return;
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(
      ".cell_input, div.highlight, pre, details.above-input, mjx-container, .math, svg"
    ).forEach((el) => el.remove());
    return htmlToText(doc.documentElement.outerHTML, anchor);
  };
})();
