"""Sphinx extension for live chapter pages (issue 16; the generator is :mod:`helpers.live`).

* Every ``{glue:text}`` span gets a hook naming what it shows: ``data-result="<name>"`` for a
  published result, ``data-claim="<claim id>"`` for a verdict, ``data-glue="<name>"`` for other
  glued text. Only an attribute is added: the page reads exactly as before without JavaScript.
* A chapter page (``chapters/*``) that publishes values for its run's accelerator loads the
  generated registry (``_static/live/generated.js``), its own data (inline: which glued name is
  which headline and part, and the committed texts) and the runtime (``_static/live/live.js``),
  which builds the control with JavaScript: no request leaves the page, and from ``file://``
  it works the same.
"""
from __future__ import annotations

import json

from docutils import nodes
from myst_nb.ext.glue.roles import PasteTextRole
from myst_nb.ext.glue.utils import retrieve_glue_data

from . import results

LIVE_PAGES = "chapters/"


class LivePasteTextRole(PasteTextRole):
    """myst-nb's ``{glue:text}`` role, with the glued key recorded on the node."""

    def run(self):
        out, messages = super().run()
        key = self.text.rsplit(":", 1)[0] if ":" in self.text else self.text
        if "::" in key:
            return out, messages
        try:
            meta = retrieve_glue_data(self.document, key).metadata or {}
        except Exception:  # noqa: BLE001 - the parent role already warned
            return out, messages
        if results.RESULT_KEY in meta:
            hook = ("data-result", key)
        elif results.CLAIM_KEY in meta:
            hook = ("data-claim", str(meta[results.CLAIM_KEY].get("id", key)))
        else:
            hook = ("data-glue", key)
        for node in out:
            if isinstance(node, nodes.inline):
                node["live_hook"] = hook
        return out, messages


def visit_inline(self, node):
    hook = node.get("live_hook")
    self.body.append(self.starttag(node, "span", "", **({hook[0]: hook[1]} if hook else {})))


def depart_inline(self, node):
    self.body.append("</span>")


def _page_data(app, pagename: str):
    if not pagename.startswith(LIVE_PAGES):
        return None
    from pathlib import Path

    from .live import page_data
    src = Path(app.env.doc2path(pagename))
    if src.suffix != ".ipynb" or not src.exists():
        return None
    return page_data(src, src.stem)


def add_page_scripts(app, pagename, templatename, context, doctree):
    data = _page_data(app, pagename)
    if data is None:
        return
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    body = body.replace("<", "\\u003c")            # never '</script>' inside the script
    app.add_css_file("live/live.css")
    # their own tags (a data- attribute keeps a bundler from merging them with the theme's
    # scripts: an error in another script then cannot stop this one)
    app.add_js_file("live/generated.js", **{"data-live": "registry"})
    app.add_js_file(None, body=f"window.LIVE_PAGE = {body};")
    app.add_js_file("live/live.js", **{"data-live": "runtime"})


def _only_where_live(app, config):
    """Jupyter Book loads every ``_static/**.js`` and ``.css`` on every page: the live files
    are loaded only by the pages that use them (:func:`add_page_scripts`)."""
    def keep(item):
        return not str(item[0] if isinstance(item, (tuple, list)) else item).startswith("live/")
    config.html_js_files = [j for j in config.html_js_files if keep(j)]
    config.html_css_files = [c for c in config.html_css_files if keep(c)]


def setup(app):
    app.setup_extension("myst_nb")
    app.connect("config-inited", _only_where_live)
    app.add_role_to_domain("glue", "text", LivePasteTextRole(), override=True)
    app.add_node(nodes.inline, override=True, html=(visit_inline, depart_inline))
    app.connect("html-page-context", add_page_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
