"""The results interface.

A chapter *publishes* each headline number with :func:`publish`. That does two things at once:
it glues the formatted text under ``name`` (so prose can say ``{glue:text}`name```, never a typed
number), and it records the exact value, unit and meaning in the output's metadata, where
:func:`read_results` (and ``python -m helpers results``) finds it in the executed notebook.

Naming rule: a name that names an accelerator (``h100_...``) always means that accelerator,
whatever the chapter was run with; a name that names none means "the accelerator this run used"
(the ``accelerator`` parameter), so a re-run with other hardware changes exactly those.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from . import fmt
from .paths import CHAPTERS, ROOT, notebooks  # noqa: F401 (ROOT, CHAPTERS: public here too)

GLUE_PREFIX = "application/papermill.record/"
RESULT_KEY = "helpers_result"
CLAIM_KEY = "helpers_claim"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _display(name: str, text: str, meta_key: str, meta: dict) -> None:
    from IPython.display import display
    metadata = {"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}, meta_key: meta}
    # repr(): myst-nb's {glue:text} literal-evals text/plain, so "70,272" must arrive quoted
    display({GLUE_PREFIX + "text/plain": repr(text)}, raw=True, metadata=metadata)


def publish(name: str, value, unit: str, description: str, *, accelerator: str | None = None,
            text: str | None = None, headline: str | None = None) -> None:
    """Glue ``value`` (formatted as ``text``, default 3 significant figures) and record it;
    ``headline`` names the registry headline it is a value of (the generic tests re-evaluate it)."""
    if not NAME.match(name):
        raise ValueError(f"result name '{name}' must be lower_snake_case")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"result '{name}' is not finite: {value}")
    text = fmt.num(value) if text is None else text
    meta = {"value": value, "unit": unit, "description": description,
            "accelerator": accelerator, "text": text}
    if headline is not None:
        meta["headline"] = headline
    _display(name, text, RESULT_KEY, meta)


def publish_text(name: str, text: str) -> None:
    """Glue a piece of derived prose (a verdict, a list of chips) with no numeric value."""
    _display(name, text, "helpers_text", {})


def publish_markdown(name: str, markdown: str) -> None:
    """Glue a block of Markdown (MyST) for ``{glue:md}`` (e.g. a chapter's answer box)."""
    from IPython.display import display
    metadata = {"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}, "helpers_text": {}}
    display({GLUE_PREFIX + "text/markdown": markdown}, raw=True, metadata=metadata)


def record_claim(claim_id: str, claimed: str, derived: str, verdict: str, *, section: str,
                 caveat: str = "") -> None:
    """Record a claim's verdict (one of the labels in :mod:`helpers.verdicts`) and its caveat;
    glued as ``verdict_<id>`` (e.g. ``verdict_rp_3``)."""
    from .verdicts import check_label

    check_label(verdict)
    if verdict == "holds with caveat" and not caveat:
        raise ValueError(f"{claim_id}: 'holds with caveat' needs the caveat")
    glue_name = "verdict_" + claim_id.lower().replace("-", "_")
    text = f"{verdict} ({caveat})" if caveat else verdict
    _display(glue_name, text, CLAIM_KEY, {"id": claim_id, "claimed": claimed, "derived": derived,
                                          "verdict": verdict, "caveat": caveat,
                                          "section": section})


def record_verdicts(verdicts: dict, sections: dict, *, caveat_header: str = "caveat") -> str:
    """Record a chapter's verdicts, ``{id: (claimed, derived, verdict, caveat)}`` with each id's
    section in ``sections``, and return them as the chapter's verdict table (Markdown)."""
    for cid, (claimed, derived, verdict, caveat) in verdicts.items():
        record_claim(cid, claimed, derived, verdict, caveat=caveat, section=sections[cid])
    return fmt.md_table(["claim", "claimed", "derived", "verdict", caveat_header],
                        [[cid, *v] for cid, v in verdicts.items()], align="lllll")


def _notebook_outputs(path: Path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            yield from cell.get("outputs", [])


def read_results(directory: Path | str | None = None) -> dict[str, dict]:
    """``{name: {value, unit, chapter, description, accelerator, text, headline}}`` from the
    executed notebooks (``headline``: the registry headline the value is of, or None)."""
    out: dict[str, dict] = {}
    for nb in notebooks(directory):
        for o in _notebook_outputs(nb):
            meta = o.get("metadata", {}).get(RESULT_KEY)
            if meta is None:
                continue
            name = o["metadata"]["scrapbook"]["name"]
            if name in out:
                raise ValueError(f"{nb.name}: result '{name}' already published by "
                                 f"{out[name]['chapter']}")
            out[name] = {"value": meta["value"], "unit": meta["unit"], "chapter": nb.stem,
                         "description": meta["description"], "accelerator": meta["accelerator"],
                         "text": meta["text"], "headline": meta.get("headline")}
    return out


def read_claims(directory: Path | str | None = None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for nb in notebooks(directory):
        for o in _notebook_outputs(nb):
            meta = o.get("metadata", {}).get(CLAIM_KEY)
            if meta is not None:
                out[meta["id"]] = dict(meta, chapter=nb.stem)
    return out
