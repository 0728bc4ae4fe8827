"""Command line: ``python -m helpers {results,claims,execute,hardware} ...``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import catalog, results

ROOT = results.ROOT


def cmd_results(args) -> int:
    res = results.read_results(args.from_dir)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0
    width = max((len(n) for n in res), default=4)
    for name, r in res.items():
        print(f"{name:<{width}}  {r['text']:>12}  {r['unit']:<18} {r['chapter']}")
    return 0


def cmd_claims(args) -> int:
    res = results.read_claims(args.from_dir)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0
    for cid, c in res.items():
        print(f"{cid:<7} {c['verdict']:<40} {c['chapter']}")
    return 0


def _chapters(names: list[str] | None) -> list[Path]:
    all_nbs = results.notebooks()
    if not names:
        return all_nbs
    chosen = []
    for n in names:
        match = [p for p in all_nbs if p.stem == n or p.stem.startswith(n) or p.name == n]
        if not match:
            raise catalog.CatalogError(f"no chapter matches '{n}'; chapters: "
                                       + ", ".join(p.stem for p in all_nbs))
        chosen += match
    return chosen


def cmd_execute(args) -> int:
    from .execute import execute_many

    params = {}
    if args.accelerator:
        from .notebook import accelerator
        accelerator(args.accelerator)          # fail fast, before any kernel starts
        hw_file = Path(args.accelerator)
        # chapters run in their own folder: hand them an absolute path to a user's file
        params["accelerator"] = str(hw_file.resolve()) if hw_file.is_file() else args.accelerator
    out = Path(args.out) if args.out else None
    if params and out is None:
        raise catalog.CatalogError("--accelerator needs --out DIR: the committed notebooks "
                                   "always hold the default run")
    srcs = _chapters(args.chapters)
    print(f"executing {len(srcs)} chapter(s) with {args.jobs} job(s)"
          + (f" into {out}" if out else " in place"), flush=True)
    return 1 if execute_many(srcs, out, params, args.jobs) else 0


def cmd_hardware(args) -> int:
    import yaml

    if args.action == "list":
        for key, e in catalog.accelerators().items():
            print(f"{key:<10} {e.name}")
        return 0
    e = catalog.lookup("accelerators", args.name)
    used = {f.source.key: f.source for f in e.fields.values()}
    for f in e.fields.values():
        used.update({a.source.key: a.source for a in f.alternatives})
    doc = {"sources": {k: {"url": s.url, "title": s.title, "date": s.date, "tag": s.tag}
                       for k, s in used.items()},
           "entries": {e.key: dict(e.text)}}
    for name, f in e.fields.items():
        raw = {"value": f.value, "unit": f.unit, "source": f.source.key}
        if f.note:
            raw["note"] = f.note
        if f.missing:
            raw["missing"] = f.missing
        doc["entries"][e.key][name] = raw
    print(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), end="")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("results", help="headline results published by the executed chapters")
    r.add_argument("--json", action="store_true")
    r.add_argument("--from", dest="from_dir", help="a folder of executed notebooks "
                   "(default: the committed chapters)")
    r.set_defaults(func=cmd_results)
    c = sub.add_parser("claims", help="claim verdicts recorded by the executed chapters")
    c.add_argument("--json", action="store_true")
    c.add_argument("--from", dest="from_dir")
    c.set_defaults(func=cmd_claims)
    x = sub.add_parser("execute", help="re-execute chapters with papermill (byte-stable)")
    x.add_argument("chapters", nargs="*", help="chapter file stems or prefixes (default: all)")
    x.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    x.add_argument("--accelerator", help="catalog name or hardware YAML file (needs --out)")
    x.add_argument("--out", help="write executed notebooks here instead of in place")
    x.set_defaults(func=cmd_execute)
    h = sub.add_parser("hardware", help="the accelerator catalog")
    h.add_argument("action", choices=["list", "show"])
    h.add_argument("name", nargs="?", default="h100")
    h.set_defaults(func=cmd_hardware)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except catalog.CatalogError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
