"""Live pages, measured (run by hand, not by pytest):

    .venv/bin/python tests/bench_live.py [--html BUILT_HTML_DIR] [--repeat 50] [--json]

For every chapter page of a built book (default: build one into a temporary folder): the glued
results it shows and which of them move live, need a re-run (with the reason) or name their
part; the median time of a full recompute of the page in headless Chromium after choosing
another accelerator; and the bytes the live pages add (scripts, stylesheet and the page's
inline data; raw and gzipped).
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import live  # noqa: E402
from helpers.paths import CHAPTERS  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OTHER = "b200"
INLINE = re.compile(r"<script>window\.LIVE_PAGE = (.*?);</script>", re.S)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _build() -> Path:
    out = Path(tempfile.mkdtemp(prefix="bench-live-"))
    subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                    "--path-output", str(out)], check=True, capture_output=True)
    return out / "_build" / "html"


def _gz(b: bytes) -> int:
    return len(gzip.compress(b, 9))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--html", help="a built book's html folder (default: build one)")
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    html = Path(args.html) if args.html else _build()
    static = b"".join((html / "_static" / "live" / n).read_bytes()
                      for n in ("generated.js", "live.js"))
    css = (html / "_static" / "live" / "live.css").read_bytes()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from playwright.sync_api import sync_playwright

    report = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for path in sorted((html / "chapters").glob("*.html")):
            stem = path.stem
            data = live.page_data(CHAPTERS / f"{stem}.ipynb", stem)
            if data is None:
                continue
            text = path.read_text(encoding="utf-8")
            m = INLINE.search(text)
            inline = (m.group(0) if m else "").encode()
            page.goto(f"{base}/chapters/{stem}.html", wait_until="load")
            page.wait_for_selector("html[data-live-ready]", state="attached", timeout=20000)
            shown = page.evaluate("() => [...new Set([...document.querySelectorAll("
                                  "'[data-result]')].map(e => e.getAttribute('data-result')))]")
            page.select_option("[data-live-accelerator]", OTHER)
            times = [page.evaluate("() => LIVE.recomputeAll()") for _ in range(args.repeat)]
            kinds = {"live": [], "rerun": [], "fixed": []}
            for n in shown:
                kinds[data["results"][n]["kind"] if n in data["results"] else "fixed"].append(n)
            dependent = len(kinds["live"]) + len(kinds["rerun"])
            rules = live.live_rules()
            report[stem] = {
                "glued_results": len(shown), "live": len(kinds["live"]),
                "rerun": {n: data["results"][n]["why"] for n in kinds["rerun"]},
                "fixed": len(kinds["fixed"]),
                "share_of_hardware_dependent_live": (len(kinds["live"]) / dependent
                                                     if dependent else None),
                "live_verdicts": sorted(c for c in data["claims"] if c in rules),
                "verdicts": len(data["claims"]),
                "recompute_ms_median": statistics.median(times),
                "added_bytes_raw": len(static) + len(css) + len(inline),
                "added_bytes_gzip": _gz(static) + _gz(css) + _gz(inline),
                "added_script_gzip": _gz(static) + _gz(inline),
            }
        browser.close()
    server.shutdown()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{'page':<20} {'glued':>5} {'live':>4} {'rerun':>5} {'fixed':>5} {'live/dep':>8} "
          f"{'verdicts':>9} {'ms':>6} {'raw B':>7} {'gz B':>6}")
    for stem, r in report.items():
        share = "-" if r["share_of_hardware_dependent_live"] is None else \
            f"{100 * r['share_of_hardware_dependent_live']:.0f} %"
        print(f"{stem:<20} {r['glued_results']:>5} {r['live']:>4} {len(r['rerun']):>5} "
              f"{r['fixed']:>5} {share:>8} {len(r['live_verdicts']):>3} of {r['verdicts']:<3} "
              f"{r['recompute_ms_median']:>6.2f} {r['added_bytes_raw']:>7} "
              f"{r['added_bytes_gzip']:>6}")
    print("\nneeds a re-run:")
    for stem, r in report.items():
        for n, why in r["rerun"].items():
            print(f"  {stem}: {n}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
