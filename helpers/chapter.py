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

from . import catalog, results
from .notebook import accelerator as _load_accelerator, setup, show_markdown
from .fmt import md_table
from .registry import FORMATS, get


class Chapter:
    def __init__(self, accelerator: str = "h100", overrides: dict | None = None):
        setup()
        self.acc = _load_accelerator(accelerator, overrides)   # the accelerator this run is for
        self.accs = catalog.accelerators()                    # every catalogued accelerator
        self.models = catalog.models()
        self.values: dict[str, float] = {}                    # everything published, by name
        self.text("run_accelerator_name", self.acc.name)

    # -- parts ----------------------------------------------------------------------------
    def part(self, key: str) -> catalog.Entry:
        """A catalogued accelerator by key; ``"run"`` is the run's own."""
        return self.acc if key == "run" else self.accs[key]

    # -- publishing -----------------------------------------------------------------------
    def publish(self, name: str, value: float, unit: str, description: str, *,
                fmt: str = "num", part: str | None = None) -> float:
        """Glue ``value`` formatted once by ``fmt`` and record it; ``part`` is the accelerator key
        it was computed for (None: it depends on no accelerator). Returns the value."""
        value = float(value)
        results.publish(name, value, unit, description, accelerator=part,
                        text=FORMATS[fmt](value))
        self.values[name] = value
        return value

    def headline(self, name: str, *parts: str, publish_run: bool = True) -> float:
        """Publish a registry headline for the run's accelerator (under ``name``) and for each
        named part (under ``<part>_<name>``); return the run's value. An unbounded value
        (``inf``) is returned but not published: the chapter says so in words."""
        h = get(name)
        out = None
        targets = (["run"] if publish_run else []) + list(parts)
        for key in targets:
            acc = self.part(key)
            value = h.value(acc)
            glued = name if key == "run" else f"{key}_{name}"
            if key == "run":
                out = value
            if value == float("inf"):
                self.values[glued] = value
                continue
            self.publish(glued, value, h.unit, h.description, fmt=h.fmt, part=acc.key)
        return out if out is not None else self.values[f"{parts[0]}_{name}"]

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
    def table(self, headers: list[str], rows: list[list], *, align: str | None = None) -> None:
        show_markdown(md_table(headers, rows, align=align))

    def verdicts(self, verdicts: dict, sections: dict, *, caveat_header: str = "caveat") -> None:
        """Record ``{id: (claimed, derived, verdict, caveat)}`` and show the verdict table."""
        show_markdown(results.record_verdicts(verdicts, sections, caveat_header=caveat_header))
