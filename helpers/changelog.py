"""The book's version and its changelog, generated from what the published results and verdicts
did between editions.

The version is stated once, in ``pyproject.toml`` (:func:`version`). Each edition's published
numbers and verdicts are kept in ``versions/<version>.json`` (a *snapshot*: every result's
value, unit and text, every claim's verdict), written by one command::

    python -m helpers changelog snapshot           # the committed notebooks, as this version
    python -m helpers changelog snapshot --commit ecbf88f --version 1.0.0   # from git history
    python -m helpers changelog show               # the changelog as Markdown

The changelog appendix (``appendices/changelog.ipynb``) prints :func:`changelog_markdown`: per
edition, the verdicts that changed, then the results that changed the most. A test checks that
the current version's snapshot is the committed notebooks', so a changed number without a new
snapshot (and, for a release, a new version) fails with the command to run.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

from .fmt import md_table
from .paths import CHAPTERS, ROOT
from .results import read_claims, read_results

VERSIONS = ROOT / "versions"
PACKAGE = "llm-economics-book-helpers"
SNAPSHOT_COMMAND = "python -m helpers changelog snapshot"
TOP = 12   # result changes listed per edition (the rest are counted)


def version() -> str:
    """The book's version: ``pyproject.toml``'s in a checkout, else the installed package's."""
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    from importlib.metadata import version as installed
    return installed(PACKAGE)


def _key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _claim_key(cid: str) -> tuple:
    """The ledger's order (RP-2 before RP-10), for ids of any edition."""
    family, _, number = cid.rpartition("-")
    return (family, int(number)) if number.isdigit() else (cid, 0)


def snapshot(directory: Path | str | None = None, ver: str | None = None) -> dict:
    """Every published result and verdict of the executed notebooks in ``directory`` (default:
    the committed chapters), as a version snapshot."""
    res = read_results(directory)
    claims = read_claims(directory)
    return {
        "version": ver or version(),
        "results": {n: {"value": r["value"], "unit": r["unit"], "text": r["text"],
                        "chapter": r["chapter"], "description": r["description"]}
                    for n, r in sorted(res.items())},
        "claims": {c: {"verdict": v["verdict"], "claimed": v["claimed"], "derived": v["derived"],
                       "caveat": v.get("caveat", ""), "chapter": v["chapter"]}
                   for c, v in sorted(claims.items())},
    }


def snapshot_of_commit(commit: str, ver: str) -> dict:
    """The snapshot of the chapters as committed at ``commit`` (read from git, not checked out)."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{commit}:chapters"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name.endswith(".ipynb"):
                blob = subprocess.run(["git", "show", f"{commit}:chapters/{name}"], cwd=ROOT,
                                      capture_output=True, check=True).stdout
                (Path(tmp) / name).write_bytes(blob)
        return snapshot(tmp, ver)


def dumps(snap: dict) -> str:
    return json.dumps(snap, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def path_of(ver: str) -> Path:
    return VERSIONS / f"{ver}.json"


def write(snap: dict) -> Path:
    VERSIONS.mkdir(exist_ok=True)
    path = path_of(snap["version"])
    path.write_text(dumps(snap), encoding="utf-8")
    return path


def snapshots() -> list[dict]:
    """Every committed snapshot, oldest version first."""
    found = [json.loads(p.read_text(encoding="utf-8")) for p in VERSIONS.glob("*.json")]
    return sorted(found, key=lambda s: _key(s["version"]))


def stale_message(directory: Path | str | None = None) -> str | None:
    """None when ``versions/<version>.json`` holds exactly the committed notebooks' results and
    verdicts; otherwise one line saying what differs and the command to run."""
    ver = version()
    path = path_of(ver)
    if not path.exists():
        return f"{path.relative_to(ROOT)} is missing: run `{SNAPSHOT_COMMAND}`"
    if path.read_text(encoding="utf-8") == dumps(snapshot(directory or CHAPTERS, ver)):
        return None
    return (f"the published results or verdicts differ from {path.relative_to(ROOT)}: run "
            f"`{SNAPSHOT_COMMAND}` (and, for a new edition, raise the version in pyproject.toml "
            "first)")


def _change(old: float, new: float) -> float:
    """How far a value moved, as |ln(new/old)|; infinite through zero or a change of sign."""
    if old == new:
        return 0.0
    if old == 0 or new == 0 or (old > 0) != (new > 0):
        return math.inf
    return abs(math.log(new / old))


def diff(old: dict, new: dict) -> dict:
    """What changed from snapshot ``old`` to ``new``: verdicts (changed, added, dropped) and
    results (those in both whose value moved, largest change first; added; dropped)."""
    oc, nc = old["claims"], new["claims"]
    verdicts = [(cid, oc[cid]["verdict"], nc[cid]["verdict"], nc[cid]["chapter"])
                for cid in sorted(set(oc) & set(nc), key=_claim_key)
                if oc[cid]["verdict"] != nc[cid]["verdict"]]
    orr, nr = old["results"], new["results"]
    moved = []
    for name in sorted(set(orr) & set(nr)):
        a, b = orr[name], nr[name]
        change = _change(a["value"], b["value"])
        if change > 0 or a["unit"] != b["unit"]:
            moved.append((change, name, a, b))
    moved.sort(key=lambda m: (-m[0], m[1]))
    return {"verdicts": verdicts,
            "claims_added": sorted(set(nc) - set(oc), key=_claim_key),
            "claims_dropped": sorted(set(oc) - set(nc), key=_claim_key),
            "results": moved,
            "results_added": sorted(set(nr) - set(orr)),
            "results_dropped": sorted(set(orr) - set(nr))}


def _chapter(stem: str) -> str:
    m = re.match(r"^(\d+)_", stem)
    return f"ch. {int(m.group(1))}" if m else stem


def _shown(r: dict) -> str:
    """A value as the chapter printed it, with its unit unless the unit says nothing."""
    return r["text"] if r["unit"] in ("", "1", "ratio", "fraction") else f"{r['text']} {r['unit']}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _factor(change: float, a: float, b: float) -> str:
    if math.isinf(change):
        return "through zero" if 0 in (a, b) else "sign changed"
    if change == 0:
        return "unit changed"
    ratio = b / a
    return f"×{ratio:.3g}" if ratio >= 1 else f"×{ratio:.3g} (÷{1 / ratio:.3g})"


def edition_markdown(old: dict, new: dict, top: int = TOP) -> str:
    d = diff(old, new)
    out = [f"## {new['version']} (from {old['version']})", ""]
    n_claims = len(new["claims"])
    out.append(f"{len(d['verdicts'])} of the {n_claims} verdicts changed, "
               f"{len(d['results'])} of the {len(set(old['results']) & set(new['results']))} "
               f"results published in both editions moved; {len(d['claims_added'])} claims and "
               f"{len(d['results_added'])} results are new, {len(d['claims_dropped'])} claims "
               f"and {len(d['results_dropped'])} results are gone.")
    out.append("")
    if d["verdicts"]:
        out += ["### Verdicts that changed", ""]
        out.append(md_table(["claim", "chapter", f"in {old['version']}", f"in {new['version']}"],
                            [[f"**{c}**", _chapter(ch), _cell(a), _cell(b)]
                             for c, a, b, ch in d["verdicts"]], align="llll"))
        out.append("")
    if d["claims_added"]:
        out += ["New claims checked: " + ", ".join(
            f"**{c}** ({_cell(new['claims'][c]['verdict'])})" for c in d["claims_added"]) + ".",
            ""]
    if d["results"]:
        shown = d["results"][:top]
        out += [f"### The results that moved most ({len(shown)} of {len(d['results'])})", ""]
        out.append(md_table(
            ["result", "chapter", old["version"], new["version"], "change"],
            [[_cell(b["description"]), _chapter(b["chapter"]), _cell(_shown(a)), _cell(_shown(b)),
              _factor(ch, a["value"], b["value"])] for ch, name, a, b in shown],
            align="llrrr"))
        out.append("")
    return "\n".join(out)


def changelog_markdown(snaps: list[dict] | None = None) -> str:
    """The changelog, newest edition first: one section per pair of consecutive snapshots."""
    snaps = snapshots() if snaps is None else snaps
    if len(snaps) < 2:
        return "Only one edition so far: nothing to compare.\n"
    parts = [edition_markdown(a, b) for a, b in zip(snaps, snaps[1:])]
    return "\n".join(reversed(parts))
