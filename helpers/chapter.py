"""The ``Chapter`` object: everything a chapter does besides its argument, behind one name.

A chapter's first hidden cell is ::

    ch = Chapter(accelerator, overrides)     # setup, the run's accelerator, the catalogs

and its bookkeeping cells (hidden from the reader) then say what to publish::

    ch.headline("flops_per_byte", "h100", "a100")   # from the registry: run's value + twins
    ch.publish("lecture_sparsity", 8, "ratio", "the lecture's 256 / 32")     # a one-off number
    ch.text("deepseek_v3_routing", "8 of 256")       # derived prose
    ch.table(headers, rows, caption="...")           # a table the reader wants to see
    ch.verdicts({...}, sections)                     # the chapter's verdicts and their table

Every number is formatted once (``fmt="integer"``, ``"pct"``, ... from
:data:`helpers.registry.FORMATS`), glued under its name for ``{glue:text}`` and recorded with
its value, unit and meaning for ``python -m helpers results``.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from . import catalog, claims, results
from .fmt import html_text, md_table, md_text, one_line, protect_user_text
from .notebook import accelerator as _load_accelerator, setup, show_markdown
from .registry import FORMATS, get
from .verdicts import check_label


class Chapter:
    def __init__(self, accelerator: str = "h100", overrides: dict | None = None):
        setup()
        self.acc = _load_accelerator(accelerator, overrides)   # the accelerator this run is for
        self.accs = catalog.accelerators()                    # every catalogued accelerator
        listed = self.accs.get(self.acc.key)
        if listed is None or listed.text != self.acc.text:     # a reader's text: never markup
            protect_user_text([self.acc.name, self.acc.text.get("vendor")])
        self.models = catalog.models()
        self.values: dict[str, float] = {}                    # everything published, by name
        self.text("run_accelerator_name", self.acc.name)

    # -- parts ----------------------------------------------------------------------------
    def part(self, key: str) -> catalog.Entry:
        """A catalogued accelerator by key; ``"run"`` is the run's own."""
        return self.acc if key == "run" else self.accs[key]

    # -- publishing -----------------------------------------------------------------------
    def publish(self, name: str, value: float, unit: str, description: str, *,
                fmt: str | Callable[[float], str] = "num", part: str | None = None,
                headline: str | None = None) -> float:
        """Glue ``value`` formatted once by ``fmt`` (a name in :data:`FORMATS`, or a function of
        the value for a one-off text such as "2.20 TB") and record it; ``part`` is the
        accelerator key it was computed for (None: it depends on no accelerator)."""
        value = float(value)
        text = fmt(value) if callable(fmt) else FORMATS[fmt](value)
        results.publish(name, value, unit, description, accelerator=part, text=text,
                        headline=headline)
        self.values[name] = value
        return value

    def headline(self, name: str, *parts: str, publish_run: bool = True,
                 names: dict[str, str] | None = None, interval: bool = False) -> float:
        """Publish a registry headline for the run's accelerator (under ``name``) and for each
        named part (under ``<part>_<name>``); return the run's value. An unbounded value
        (``inf``) is returned but not published: the chapter says so in words. A headline that
        reads no accelerator field is recorded as depending on none. ``names`` gives a part's
        result another name (``{"gb300": "scale_out_slowdown_gb300"}``). ``interval=True`` also
        glues ``<glued name>_interval``: the value with its interval over the ranges of its
        inputs (:func:`helpers.intervals.interval`), both in the headline's format, "2,363
        (2,100–2,500)"; the value alone when no input has a range."""
        h = get(name)
        depends = bool(h.hardware_fields) or not h.closed_form
        out = None
        targets = (["run"] if publish_run else []) + list(parts)
        for key in targets:
            acc = self.part(key)
            value = h.value(acc)
            glued = name if key == "run" else (names or {}).get(key, f"{key}_{name}")
            if key == "run":
                out = value
            if value == float("inf"):
                self.values[glued] = value
                continue
            self.publish(glued, value, h.unit, h.description, fmt=h.fmt,
                         part=acc.key if depends else None, headline=name)
            if interval:
                self.text(f"{glued}_interval", interval_text(name, acc))
        if out is None:
            first = parts[0]
            out = self.values[(names or {}).get(first, f"{first}_{name}")]
        return out

    def value(self, name: str, part: str = "run") -> float:
        """A registry headline's value for a part, without publishing it."""
        return get(name).value(self.part(part))

    def text(self, name: str, text: str) -> str:
        """Glue a piece of derived prose (a name, a list, a verdict) with no numeric value."""
        results.publish_text(name, text)
        return text

    def glue(self, name: str, value: float, fmt: str = "num") -> str:
        """Glue a catalog input quoted in the prose, formatted (the text follows the catalog)."""
        return self.text(name, FORMATS[fmt](float(value)))

    # -- what the reader sees -------------------------------------------------------------
    def table(self, headers: list[str], rows: list[list], *, align: str | None = None,
              caption: str | None = None, label: str | None = None) -> None:
        """Show a table; with ``caption`` (and ``label``, e.g. ``"tbl-hardware-ratio"``) it is a
        numbered MyST table the prose cites as ``{numref}`tbl-hardware-ratio```."""
        body = md_table(headers, rows, align=align)
        show_markdown(body if caption is None else captioned(body, caption, label))

    def verdicts(self, verdicts: dict, sections: dict, *, caveat_header: str = "caveat",
                 answers: dict[str, str] | None = None) -> None:
        """Record ``{id: (claimed, derived, verdict, caveat)}`` and show the verdict table.

        Also glues ``answer_box``: one line per claim (its short text, its label, coloured and
        in words, and the derived number ``answers[id]``, default the derived text), for the
        chapter's first screen (``{glue:md}`answer_box```)."""
        results.record_verdicts(verdicts, sections, caveat_header=caveat_header)
        show_markdown(captioned(self.verdict_table(verdicts, caveat_header=caveat_header),
                                VERDICT_CAPTION))
        lines = []
        for cid, (_claimed, derived, verdict, _caveat) in verdicts.items():
            short = claims.get(cid).short
            number = (answers or {}).get(cid, derived)
            lines.append(f"* {verdict_badge(cid, verdict)} {cid}: {md_text(short)}: "
                         f"{md_text(number)}")
        results.publish_markdown("answer_box", "\n".join(lines))

    def verdict_table(self, verdicts: dict, *, caveat_header: str = "caveat") -> str:
        """The verdict table: claim, claimed, derived, verdict, caveat and *robust?*, whether
        the verdict survives the ranges of its inputs (:func:`helpers.robustness.column`, for
        this run's accelerator and the values this chapter published)."""
        from . import robustness

        robust = robustness.column({cid: v[2] for cid, v in verdicts.items()}, self.acc,
                                   self.values)
        return md_table(["claim", "claimed", "derived", "verdict", caveat_header, "robust?"],
                        [[cid, *v, r] for (cid, v), r in zip(verdicts.items(), robust)],
                        align="llllll")


def interval_text(name: str, acc: catalog.Entry) -> str:
    """A registry headline's value for ``acc`` and its interval, in the headline's format:
    "2,363 (2,100–2,500)"; the value alone when its inputs carry no range."""
    from . import intervals

    h = get(name)
    low, central, high = intervals.interval(name, acc)
    if low == high:
        return h.text(central)
    return f"{h.text(central)} ({h.text(low)}–{h.text(high)})"


TABLE_LABEL = re.compile(r"^tbl-[a-z0-9][a-z0-9-]*$")
VERDICT_CAPTION = ("Verdicts: what was claimed, what the book derives, the label the book's rule "
                   "gives, and whether it survives the ranges of its inputs")


def captioned(body: str, caption: str, label: str | None = None) -> str:
    """A Markdown table as a numbered MyST table with ``caption`` (and a ``label`` to cite)."""
    if label is not None and not TABLE_LABEL.match(label):
        raise ValueError(f"table label '{label}' must look like tbl-some-name")
    name = f":name: {label}\n" if label else ""
    return f":::{{table}} {one_line(caption)}\n{name}\n{body}\n:::"
_BADGE_CLASS = {"holds": "holds", "holds with caveat": "caveat", "does not follow": "nofollow"}


def verdict_badge(claim_id: str, verdict: str) -> str:
    """A verdict label as an inline HTML badge: its words, a class for its colour (never the
    only cue) and the ``data-claim`` hook the live page updates. Labels are the rule's own
    words (checked by :func:`helpers.verdicts.check_label`), so no reader text reaches HTML."""
    check_label(verdict)
    kind = _BADGE_CLASS.get(verdict, "off")
    return (f'<span class="verdict verdict-{kind}" data-claim="{html_text(claim_id)}">'
            f"{html_text(verdict)}</span>")
