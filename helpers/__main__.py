"""Command line: ``python -m helpers {results,claims,execute,rerun,hardware,sweep,measure} ...``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from . import catalog, results
from .paths import APPENDICES, select_notebooks


def _from_dir(from_dir: str | None) -> str | None:
    if from_dir is not None:
        d = Path(from_dir)
        if not d.is_dir():
            raise catalog.CatalogError(f"--from {from_dir}: no such folder")
        if not results.notebooks(d):
            raise catalog.CatalogError(f"--from {from_dir}: no executed notebooks (*.ipynb) in it")
    return from_dir


def ran_on(from_dir: str | None) -> str | None:
    """One line saying which hardware a re-run folder's notebooks were run for (its
    ``rerun.json``), or None for the committed notebooks."""
    if from_dir is None:
        return None
    manifest = Path(from_dir) / "rerun.json"
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"# {from_dir}: which hardware ran is not recorded (no rerun.json)"
    from .fmt import one_line
    sets = ", ".join(f"{k} = {v:g}" for k, v in (m.get("overrides") or {}).items())
    hw = m.get("hardware", "")
    source = "" if hw == m.get("accelerator") else f" from {Path(str(hw)).name}"
    return (f"# re-run for {m.get('accelerator')} ({one_line(m.get('name', ''))}){source}"
            + (f" with {sets}" if sets else "")
            + f"; chapters {', '.join(m.get('chapters', []))}")


def cmd_results(args) -> int:
    res = results.read_results(_from_dir(args.from_dir))
    header = ran_on(args.from_dir)
    if header:
        print(header, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0
    width = max((len(n) for n in res), default=4)
    for name, r in res.items():
        print(f"{name:<{width}}  {r['text']:>12}  {r['unit']:<18} {r['chapter']}")
    return 0


def cmd_claims(args) -> int:
    res = results.read_claims(_from_dir(args.from_dir))
    header = ran_on(args.from_dir)
    if header:
        print(header, file=sys.stderr if args.json else sys.stdout)
    from . import robustness
    found = robustness.for_chapters(_from_dir(args.from_dir), res)
    if args.json:
        for cid, c in res.items():   # robust: true | false | null (untested, not numeric, ...)
            r = found[cid]
            c.update(robust=r["robust"], robustness=r["text"], flips_on=r["flips_on"],
                     flip_value=r["flip_value"], flip_unit=r.get("flip_unit"),
                     robust_status=r.get("status"))
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0
    for cid, c in res.items():
        print(f"{cid:<7} {c['verdict']:<40} {c['chapter']:<20} {found[cid]['text']}")
    return 0


def cmd_execute(args) -> int:
    from .execute import execute_many

    params = {}
    if args.accelerator:
        from .rerun import resolve_hardware
        # fail fast, before any kernel starts; chapters run in their own folder, so a user's
        # file is handed to them as an absolute (plain-text) path
        params["accelerator"] = resolve_hardware(args.accelerator)[1]
    out = Path(args.out) if args.out else None
    if params and out is None:
        raise catalog.CatalogError("--accelerator needs --out DIR: the committed notebooks "
                                   "always hold the default run")
    # every chapter and appendix by default (the appendices read the catalogs)
    srcs = select_notebooks(args.chapters, appendices=True)
    # the claims ledger reads the chapters' outputs: appendices run after the chapters they read
    first = [p for p in srcs if p.parent != APPENDICES]
    then = [p for p in srcs if p.parent == APPENDICES and (out is None or args.chapters)]
    if first and out is None and (APPENDICES / "claims_ledger.ipynb") not in then \
            and (APPENDICES / "claims_ledger.ipynb").exists():
        then.append(APPENDICES / "claims_ledger.ipynb")   # keep the ledger current
    print(f"executing {len(srcs)} notebook(s) with {args.jobs} job(s)"
          + (f" into {out}" if out else " in place"), flush=True)
    failed = execute_many(first, out, params, args.jobs) if first else 0
    if then and not failed:
        failed = execute_many(then, out, params, args.jobs)
    return 1 if failed else 0


def cmd_hardware(args) -> int:
    from .hardware_file import hardware_document

    if args.action == "list":
        for key, e in catalog.accelerators().items():
            print(f"{key:<10} {e.name}")
        return 0
    if args.action == "check":
        return _hardware_check(args)
    if args.template:
        from .hardware_file import template_document

        like = catalog.lookup("accelerators", args.name or args.template)
        print(template_document(args.format, like), end="")
        return 0
    print(hardware_document(catalog.lookup("accelerators", args.name or "h100"), args.format),
          end="")
    return 0


def _hardware_check(args) -> int:
    """Exactly the checks `rerun` makes of its hardware (and --set, --chapters), then what the
    file changes; nothing is executed or written."""
    from .hardware_check import report
    from .hardware_file import parse_sets
    from .rerun import check_inputs, resolve_hardware

    if args.name is None:
        raise catalog.CatalogError("hardware check: give the hardware file to check, e.g. "
                                   "python -m helpers hardware check mychip.yaml")
    overrides = parse_sets(args.set)
    entry, _ = resolve_hardware(args.name, overrides)
    chapters = select_notebooks(args.chapters)
    check_inputs(entry, chapters, overrides, args.name)
    print(report(entry, args.name))
    return 0


def cmd_rerun(args) -> int:
    from .hardware_file import parse_sets
    from .rerun import rerun

    return rerun(args.hardware, args.chapters, args.out, build=args.build, jobs=args.jobs,
                 overrides=parse_sets(args.set), engine=args.engine, everything=args.all,
                 as_json=args.json, exit_code=args.exit_code, against=args.against)


def cmd_sweep(args) -> int:
    from . import sweep

    qs = sweep.quantities()
    accelerators = list(catalog.accelerators().values())
    if args.hardware:
        from .notebook import accelerator

        for name in args.hardware:       # validated as rerun validates them
            entry = accelerator(name)
            if entry.key in {a.key for a in accelerators} and name not in (entry.key,):
                entry = dataclasses.replace(entry, key=f"{entry.key}_file")
            accelerators = [a for a in accelerators if a.key != entry.key] + [entry]
    table = sweep.evaluate(accelerators, qs=qs)
    if args.json:
        print(json.dumps(sweep.as_json(table, qs), indent=1, ensure_ascii=False))
        return 0
    print(sweep.text_table(table, qs))
    return 0


def cmd_live(args) -> int:
    from . import live

    if args.check:
        ok = live.is_current()
        print(f"{live.GENERATED.relative_to(live.ROOT)} is "
              + ("current" if ok else "stale: run python -m helpers live"))
        return 0 if ok else 1
    print(f"wrote {live.write().relative_to(live.ROOT)}")
    return 0


def cmd_measure(args) -> int:
    from .measure import run_command

    return run_command(args)


def cmd_changelog(args) -> int:
    from . import changelog

    if args.action == "show":
        print(changelog.changelog_markdown(), end="")
        return 0
    if args.commit:
        if not args.version:
            raise catalog.CatalogError("changelog snapshot --commit needs --version, the edition "
                                       "that commit is (e.g. --commit ecbf88f --version 1.0.0)")
        snap = changelog.snapshot_of_commit(args.commit, args.version)
    else:
        if args.version and args.version != changelog.version():
            raise catalog.CatalogError(f"--version {args.version}: the committed notebooks are "
                                       f"version {changelog.version()} (pyproject.toml)")
        snap = changelog.snapshot()
    path = changelog.write(snap)
    print(f"{path.relative_to(changelog.ROOT)}: {len(snap['results'])} results, "
          f"{len(snap['claims'])} verdicts; then run python -m helpers execute "
          "appendices/changelog.ipynb")
    return 0


def cmd_install_cell(args) -> int:
    from . import install_cell
    from .paths import notebooks

    paths = [Path(n) for n in args.notebooks] or notebooks()
    changed = [p for p in paths if install_cell.ensure(p, check=args.check)]
    for p in changed:
        print(f"{p}: {'install cell missing or stale' if args.check else 'install cell written'}")
    return 1 if (args.check and changed) else 0


def cmd_pages(args) -> int:
    from . import front_pages

    changed = front_pages.write(check=args.check)
    for name in changed:
        print(f"{name}: generated blocks " + ("are stale" if args.check else "written"))
    return 1 if (args.check and changed) else 0


def cmd_pdf(args) -> int:
    from .pdf import run_command

    return run_command(args)


def build_parser() -> argparse.ArgumentParser:
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
    x.add_argument("chapters", nargs="*", help="chapter file stems or prefixes, or paths of other "
                   "notebooks such as appendices/sweep.ipynb (default: every chapter)")
    x.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    x.add_argument("--accelerator", help="catalog name or hardware file (needs --out; "
                   "`rerun` does this and compares)")
    x.add_argument("--out", help="write executed notebooks here instead of in place")
    x.set_defaults(func=cmd_execute)
    rr = sub.add_parser("rerun", help="re-run the chapters for other hardware into a new folder "
                        "and compare every headline result with the committed run")
    rr.add_argument("--hardware", required=True, metavar="NAME_OR_FILE",
                    help="a catalogued accelerator (see `hardware list`) or a hardware file "
                    "(YAML or TOML, the schema `hardware show` prints)")
    rr.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                    help="chapter file stems or prefixes, e.g. 01 (default: all)")
    rr.add_argument("--out", metavar="DIR",
                    help="a new or empty folder (default: runs/<accelerator>)")
    rr.add_argument("--build", action="store_true", help="also build a variant book into DIR/book")
    rr.add_argument("--set", action="append", default=[], metavar="FIELD=NUMBER",
                    help="override one field, in the unit the entry uses (e.g. hbm_bandwidth=4.8)")
    rr.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="chapters executed at once (default: one per CPU core)")
    rr.add_argument("--against", metavar="OTHER",
                    help="compare with another chip (a catalog name or hardware file, re-run "
                    "alongside) or an earlier run's folder, instead of the committed notebooks")
    rr.add_argument("--all", action="store_true",
                    help="print every result, not only those that changed")
    rr.add_argument("--json", action="store_true",
                    help="print the comparison as JSON (its summary says whether any verdict "
                    "changed); progress goes to stderr")
    rr.add_argument("--exit-code", action="store_true",
                    help="exit with status 3 when any verdict changed (for CI)")
    rr.add_argument("--engine", choices=["forked", "kernel"], default="forked",
                    help="forked (default): the libraries imported once, each chapter in a "
                    "forked process; kernel: papermill, a Jupyter kernel per chapter")
    rr.set_defaults(func=cmd_rerun)
    h = sub.add_parser("hardware", help="the accelerator catalog; `check FILE` validates a "
                       "hardware file as `rerun` would and says what it changes")
    h.add_argument("action", choices=["list", "show", "check"])
    h.add_argument("name", nargs="?", default=None,
                   help="show: a catalog name (default h100); check: a hardware file or name")
    h.add_argument("--format", choices=["yaml", "toml"], default="yaml")
    h.add_argument("--template", nargs="?", const="h100", metavar="LIKE",
                   help="show: a clean file to fill in (every field, its unit, one source to "
                   "replace; no value, source, note or reading copied), with LIKE's values "
                   "(default h100) as comments for scale")
    h.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                   help="check: the chapters a re-run would run (default: all)")
    h.add_argument("--set", action="append", default=[], metavar="FIELD=NUMBER",
                   help="check: the overrides a re-run would apply")
    h.set_defaults(func=cmd_hardware)
    sw = sub.add_parser("sweep", help="every chapter's hardware-dependent headlines for every "
                        "catalogued accelerator (no notebook is executed)")
    sw.add_argument("--json", action="store_true")
    sw.add_argument("--hardware", action="append", metavar="NAME_OR_FILE",
                    help="add a hardware file (or a catalogued name) as a row; repeatable")
    sw.set_defaults(func=cmd_sweep)
    lv = sub.add_parser("live", help="regenerate the live pages' JavaScript from the registry "
                        "(_static/live/generated.js)")
    lv.add_argument("--check", action="store_true", help="only say whether it is current")
    lv.set_defaults(func=cmd_live)
    # measure: numbers are read as text and checked in helpers.measure (one line, exit 2)
    ms = sub.add_parser("measure", help="measure this machine's roofline (GEMM FLOP/s, memory "
                        "bandwidth and capacity, the decode knee) into a hardware file")
    ms.add_argument("--quick", action="store_true", help="a run of seconds (fewer repetitions, "
                    "smaller sizes); its numbers are marked unreliable")
    ms.add_argument("--out", metavar="FILE", help="the hardware file to write, YAML (default: "
                    "measured.yaml); the raw timings go beside it with .json")
    ms.add_argument("--size-mb", metavar="MB", help="decode matrix and copy buffers, MB "
                    "(default: 16x the last-level cache, at least 256; --quick: 4x, 64)")
    ms.add_argument("--precisions", metavar="LIST", help="GEMM precisions, comma-separated "
                    "(CPU: float32,float64; CUDA: bf16,fp8; default: all of the device's)")
    ms.add_argument("--repeats", metavar="N", help="timed runs of each measurement "
                    "(default: 9; --quick: 3)")
    ms.add_argument("--max-batch", metavar="B", help="largest batch of the decode sweep, 16 or "
                    "more (default: a power of two past 32x the predicted knee; --quick: 16x)")
    ms.add_argument("--device", metavar="DEVICE", help="auto (default: cuda when torch finds a "
                    "device), cpu or cuda")
    ms.add_argument("--note", metavar="TEXT", help="one line about the machine for the file's "
                    "provenance, e.g. '2-core cloud VM'")
    ms.set_defaults(func=cmd_measure)
    cl = sub.add_parser("changelog", help="snapshot this version's published results and "
                        "verdicts (versions/VERSION.json), or show the changelog")
    cl.add_argument("action", choices=["snapshot", "show"])
    cl.add_argument("--commit", help="snapshot: the chapters as committed there (an earlier "
                    "edition), not the working tree")
    cl.add_argument("--version", help="snapshot: the edition's version (default: pyproject's)")
    cl.set_defaults(func=cmd_changelog)
    ic = sub.add_parser("install-cell", help="make the hidden install cell the first cell of "
                        "each notebook (default: every chapter); idempotent")
    ic.add_argument("notebooks", nargs="*", help="notebook files (default: chapters/*.ipynb)")
    ic.add_argument("--check", action="store_true", help="write nothing; exit 1 if a cell is "
                    "missing or stale")
    ic.set_defaults(func=cmd_install_cell)
    pg = sub.add_parser("pages", help="rewrite the generated blocks of intro.md and course.md "
                        "(the chapters' questions and verdicts, the citation, the exercises)")
    pg.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    pg.set_defaults(func=cmd_pages)
    pd = sub.add_parser("pdf", help="the whole book as one PDF, offline (HTML build printed by "
                        "headless Chromium, in table-of-contents order)")
    pd.add_argument("--instructor", action="store_true", help="the instructor's edition: every "
                    "solution printed under its exercise (default: the student's, without)")
    pd.add_argument("--out", metavar="PATH", help="the PDF to write (default: _build/pdf/book.pdf, "
                    "or _build/pdf/book-instructor.pdf with --instructor)")
    pd.add_argument("--html", metavar="DIR", help="print this built book's html folder instead "
                    "of building one (e.g. _build/html after bash setup.sh)")
    pd.set_defaults(func=cmd_pdf)
    return p


def one_line(text: str, limit: int = 600) -> str:
    """A message as one line of at most ``limit`` characters (user text never makes it longer:
    a value quoted from a file is cut where it is quoted; this is the last guard)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 40] + " ... " + text[-35:]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except catalog.CatalogError as e:   # bad input: one line, nothing written
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:             # `... | head`
        return 0
    except KeyboardInterrupt:
        print("error: interrupted; nothing written", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a user sees one line; HELPERS_DEBUG=1 shows all
        if os.environ.get("HELPERS_DEBUG"):
            raise
        print(f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              "(HELPERS_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
